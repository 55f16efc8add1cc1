"""Run by tests/test_distributed.py under ``torchrun --nproc-per-node 2``: exercises Session's merging
on hand-made states (unequal and empty shards, bool rows) and its reference-cache wrapper, and writes
what each rank ended up with to ``OUT/rank<r>.json``."""

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from gan_eval.distributed import Session
from gan_eval.engine import PassResult
from gan_eval.source import Skip
from gan_eval.state import State

SPEC = {"n": "sum", "only_rank0": "sum", "never": "sum", "rows": "cat", "flags": "cat", "empty": "cat"}
FULL_ROWS = torch.arange(8 * 3, dtype=torch.float32).reshape(8, 3) / 7.0
SPLIT = 5  # rank 0 holds rows [0, 5), rank 1 rows [5, 8)


def local_pass(rank: int) -> PassResult:
    state = State(SPEC)
    lo, hi = (0, SPLIT) if rank == 0 else (SPLIT, len(FULL_ROWS))
    state.add("n", hi - lo)
    if rank == 0:
        state.add("only_rank0", torch.tensor([[1.5, 2.0], [2.0, 4.25]]))
    for start in range(lo, hi, 2):  # several chunks per rank, as batches would give
        state.append("rows", FULL_ROWS[start : min(start + 2, hi)])
        state.append("flags", FULL_ROWS[start : min(start + 2, hi), 0] > 1.0)
    preview = np.full((hi - lo, 3, 2, 2), rank, np.uint8)
    return PassResult({"m": state}, hi - lo, [Skip(f"bad{rank}.png", "broken")], preview)


def main(out: Path) -> None:
    session = Session.start(torch.device("cpu"))
    rank = session.world.rank
    merged = session.sync_pass(local_pass(rank))
    state = merged.states["m"]

    calls = {"run": [], "inner": 0, "writes": 0}
    metrics = [SimpleNamespace(name="a", key="a"), SimpleNamespace(name="b", key="b")]

    def run(source, asked):
        calls["run"].append([m.name for m in asked])
        local = local_pass(rank)
        local.states = {m.name: local.states["m"] for m in asked}
        return session.sync_pass(local)

    def cached(value):
        state = State({"v": "sum"})
        state.add("v", torch.tensor([value]))
        return state

    def cache_only_on_rank0(source, asked, run_fn):
        """A cache that rank 0 has and rank 1 lacks (as on two nodes with their own cache folders)."""
        calls["inner"] += 1
        if rank == 0:
            return PassResult({m.name: cached(42.0) for m in asked}, 99, [], None)
        return run_fn(source, asked)

    hit = session.reference_pass(cache_only_on_rank0)("src", metrics, run)
    calls_after_hit = json.loads(json.dumps(calls))

    def empty_cache(source, asked, run_fn):
        calls["inner"] += 1
        result = run_fn(source, asked)
        calls["writes"] += 1  # a cache would write here
        return result

    miss = session.reference_pass(empty_cache)("src", metrics, run)
    calls_after_miss = json.loads(json.dumps(calls))

    def cache_holding_a(source, asked, run_fn):
        calls["inner"] += 1
        states = {"a": cached(7.0)} if rank == 0 else {}
        result = run_fn(source, [m for m in asked if m.name not in states])
        states.update(result.states)
        return PassResult(states, result.count, result.skipped, None)

    partial = session.reference_pass(cache_holding_a)("src", metrics, run)
    (out / f"rank{rank}.json").write_text(
        json.dumps(
            {
                "count": merged.count,
                "skipped": [s.item for s in merged.skipped],
                "preview": merged.preview.reshape(len(merged.preview), -1)[:, 0].tolist(),
                "n": state.get("n").tolist(),
                "only_rank0": state.get("only_rank0").tolist(),
                "never": state.get("never"),
                "rows": state.get("rows").tolist(),
                "rows_dtype": str(state.get("rows").dtype),
                "flags": state.get("flags").tolist(),
                "flags_dtype": str(state.get("flags").dtype),
                "empty": state.get("empty"),
                "hit_value": [hit.states[k].get("v").tolist() for k in ("a", "b")],
                "hit_count": hit.count,
                "calls_after_hit": calls_after_hit,
                "miss_count": miss.count,
                "miss_n": [miss.states[k].get("n").tolist() for k in ("a", "b")],
                "calls_after_miss": calls_after_miss,
                "partial_a": partial.states["a"].get("v").tolist(),
                "partial_b": partial.states["b"].get("n").tolist(),
                "calls": calls,
            }
        )
    )
    session.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
