"""An Evaluator inside a caller's torch.distributed job (2 gloo processes) equals one process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import gan_eval

HERE = Path(__file__).parent
TORCHRUN = Path(sys.executable).with_name("torchrun")


def test_an_evaluator_under_torch_distributed_equals_one_process(tmp_path):
    sys.path.insert(0, str(HERE))
    from evaluator_worker import METRICS, batches_of

    single = gan_eval.Evaluator(METRICS, "dataset:mnist5k:train", limit_ref=100, device="cpu", bootstrap=0)
    for rank in (0, 1):  # rank 0's batches, then rank 1's: the order the merge concatenates rows in
        for batch in batches_of(rank):
            single.update(batch)
    expected = single.compute().values
    run = subprocess.run(
        [str(TORCHRUN), "--standalone", "--nproc-per-node", "2", str(HERE / "evaluator_worker.py"), str(tmp_path)], capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    for rank in (0, 1):
        got = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert got["group_alive"] and got["count"] == 120  # the caller's group is left alone; counts merged
        assert got["values"].keys() == expected.keys()
        for key, value in expected.items():
            assert got["values"][key] == pytest.approx(value, rel=1e-9 if key.startswith("fid") else 1e-12, abs=1e-12), key
