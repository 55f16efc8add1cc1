"""Run by tests/test_python_api_distributed.py under ``torchrun --nproc-per-node 2``: a training job's
own gloo process group, in which each rank feeds an Evaluator its own batches; writes each rank's
Result values (and whether the caller's group survived) to ``OUT/rank<r>.json``."""

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

import gan_eval
from gan_eval_plugins.sources.datasets import load_dataset

METRICS = ["fid", "kid", "laplacian"]


def batches_of(rank: int) -> list[torch.Tensor]:
    digits = torch.from_numpy(load_dataset("mnist5k", "test")[0][:120])
    mine = digits[:70] if rank == 0 else digits[70:]  # unequal shares
    return list(mine.split(16))


def main(out: Path) -> None:
    dist.init_process_group("gloo")  # the caller's group, as a training script makes it
    rank = dist.get_rank()
    evaluator = gan_eval.Evaluator(METRICS, "dataset:mnist5k:train", limit_ref=100, device="cpu", bootstrap=0)
    for batch in batches_of(rank):
        evaluator.update(batch)
    result = evaluator.compute()
    (out / f"rank{rank}.json").write_text(
        json.dumps({"values": result.values, "group_alive": dist.is_initialized(), "count": result.record["inputs"]["generated"]["count"]})
    )
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
