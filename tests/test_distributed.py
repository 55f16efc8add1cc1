"""Distributed scoring: torchrun with 2 gloo processes equals one process (gan_eval/distributed.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, strategies as st
from PIL import Image

from gan_eval.distributed import World, merge_pass_results, requested, world_from_env
from gan_eval.engine import Shard, run_pass
from gan_eval.errors import UsageError
from gan_eval.source import SourceOptions
from gan_eval_plugins.laplacian import VarianceOfLaplacian
from gan_eval_plugins.sources.datasets import load_dataset
from gan_eval_plugins.sources.folder import FolderSource

BIN = Path(sys.executable).parent
TORCHRUN = BIN / "torchrun"
HERE = Path(__file__).parent

#: A metric with FID-like float64 sum statistics (count, Σx, Σxxᵀ of a per-image descriptor).
MOMENTS_PLUGIN = """
import torch
import gan_eval
from gan_eval.metric import Metric

class Moments(Metric):
    name = "moments"
    requires = frozenset({"images"})
    reference = "optional"
    primary = "trace"

    def state_spec(self):
        return {"count": "sum", "sum": "sum", "outer": "sum"}

    def update(self, state, inputs):
        pixels = inputs["images"].to(torch.float64).flatten(1)
        x = pixels[:, :24] / 255.0 + pixels.mean(1, keepdim=True) / 7
        state.add("count", float(len(x)))
        state.add("sum", x.sum(0))
        state.add("outer", x.T @ x)

    def compute(self, generated, reference):
        n, s, o = generated.get("count"), generated.get("sum"), generated.get("outer")
        values = {"count": float(n), "sum0": float(s[0]), "sum_total": float(s.sum()), "outer_total": float(o.sum()),
                  "outer_07": float(o[0, 7]), "trace": float(o.trace() / n - (s / n) @ (s / n))}
        if reference is not None:
            values["ref_outer_total"] = float(reference.get("outer").sum())
            values["ref_count"] = float(reference.get("count"))
        return values

@gan_eval.hookimpl
def register_metrics():
    return [Moments]
"""


#: sum states (moments, fid), gathered rows (laplacian, is, kid, pr)
METRICS = ("moments", "laplacian", "fid", "is", "kid", "pr")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    return {**env, "OMP_NUM_THREADS": "1", "GAN_EVAL_CACHE_DIR": env.get("GAN_EVAL_CACHE_DIR", "/nonexistent-unused")}


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> tuple[Path, Path, Path]:
    """37 real MNIST test digits as PNGs plus one corrupt file in the second half (rank 1's shard),
    21 training digits as the reference, and the metric plugin file."""
    root = tmp_path_factory.mktemp("dist")
    test_digits, _ = load_dataset("mnist5k", "test")
    train_digits, _ = load_dataset("mnist5k", "train")
    generated, reference = root / "generated", root / "reference"
    generated.mkdir()
    reference.mkdir()
    for i in range(37):
        Image.fromarray(test_digits[i * 7]).save(generated / f"{i:03d}.png")
    (generated / "030_corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    for i in range(21):
        Image.fromarray(train_digits[i * 11]).save(reference / f"{i:03d}.png")
    plugin = root / "moments_plugin.py"
    plugin.write_text(MOMENTS_PLUGIN)
    return generated, reference, plugin


def _score(prefix: list[str], folders, out: Path) -> subprocess.CompletedProcess:
    generated, reference, plugin = folders
    args = [
        str(generated),
        "--ref",
        str(reference),
        "--plugin",
        str(plugin),
        "--extractor",
        "mnist-cnn",
        *[arg for name in METRICS for arg in ("-m", name)],
        "--skip-bad",
        "--batch-size",
        "5",
        "--device",
        "cpu",
        "--no-cache",
        "-q",
        "--out",
        str(out),
    ]
    return subprocess.run([*prefix, "score", *args], capture_output=True, text=True, env=_env(), timeout=300)


def test_torchrun_two_processes_equal_one_process(folders, tmp_path):
    single = _score([str(BIN / "gan-eval")], folders, tmp_path / "single.json")
    assert single.returncode == 0, single.stderr
    multi = _score([str(TORCHRUN), "--standalone", "--nproc-per-node", "2", "-m", "gan_eval"], folders, tmp_path / "multi.json")
    assert multi.returncode == 0, multi.stderr

    one, two = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("single", "multi"))
    assert two["distributed"] == {"world_size": 2, "backend": "gloo"}
    assert "distributed" not in one
    assert [line.startswith("generated:") for line in multi.stdout.splitlines()].count(True) == 1  # rank 0 alone prints
    # the corrupt file sits in rank 1's half: skipped there, counted once, images not lost or doubled
    assert two["inputs"]["generated"]["count"] == one["inputs"]["generated"]["count"] == 37
    assert two["inputs"]["generated"]["skipped"] == one["inputs"]["generated"]["skipped"]
    assert [s["item"].endswith("030_corrupt.png") for s in two["inputs"]["generated"]["skipped"]] == [True]
    assert two["inputs"]["reference"]["count"] == 21

    by_name = lambda record: {r["name"]: r["values"] for r in record["results"]}
    ones, twos = by_name(one), by_name(two)
    assert ones.keys() == twos.keys() == {"moments", "laplacian", "fid@mnist-cnn", "is@mnist-cnn", "kid@mnist-cnn", "pr@mnist-cnn"}
    for key, value in ones["moments"].items():  # all-reduced float64 sums: equal up to addition order
        assert twos["moments"][key] == pytest.approx(value, rel=1e-10, abs=0), key
    assert ones["moments"]["count"] == 37 and ones["moments"]["ref_count"] == 21
    # shards are cut at whole batches, so every rank runs the single process's very batches: the
    # features are identical and gathered rows are the same rows in the same order. FID's float64
    # sums differ only in addition order (1e-10, "moments" above); with 37 images in 128 dimensions
    # the covariance is singular and the trace term amplifies that to ~2e-10 relative
    for key, value in ones["fid@mnist-cnn"].items():
        assert twos["fid@mnist-cnn"][key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    for name in ("laplacian", "is@mnist-cnn", "kid@mnist-cnn", "pr@mnist-cnn"):
        for key, value in ones[name].items():
            assert twos[name][key] == pytest.approx(value, rel=1e-12, abs=1e-15), (name, key)
    assert ones["is@mnist-cnn"]["mean"] > 1.5  # real digits (10 splits of ~4), so the comparison is not between constants


def test_session_merges_unequal_shards_and_consults_cache_on_rank0_only(tmp_path):
    run = subprocess.run(
        [str(TORCHRUN), "--standalone", "--nproc-per-node", "2", str(HERE / "distributed_worker.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    full = np.arange(24, dtype=np.float32).reshape(8, 3) / 7.0
    for rank, got in enumerate(ranks):
        assert got["count"] == 8
        assert got["skipped"] == ["bad0.png", "bad1.png"]  # rank order
        assert got["preview"] == [0] * 5 + [1] * 3  # rank 0's 5 images topped up from rank 1
        assert got["n"] == 8.0
        assert got["only_rank0"] == [[1.5, 2.0], [2.0, 4.25]]  # a rank without the sum adds nothing
        assert got["never"] is None and got["empty"] is None
        assert np.array_equal(np.array(got["rows"], np.float32), full)
        assert got["rows_dtype"] == "torch.float32"
        assert got["flags"] == (full[:, 0] > 1.0).tolist() and got["flags_dtype"] == "torch.bool"
        # rank 0's cache hit is used by every rank, even one whose own cache would miss
        assert got["hit_value"] == [[42.0], [42.0]] and got["hit_count"] == 99
        assert got["miss_count"] == 8 and got["miss_n"] == [8.0, 8.0]
        # a partial hit: every rank computes only what rank 0 lacks, and ends with rank 0's merged result
        assert got["partial_a"] == [7.0] and got["partial_b"] == 8.0
    assert ranks[0]["calls_after_hit"] == {"run": [], "inner": 1, "writes": 0}
    assert ranks[1]["calls_after_hit"] == {"run": [], "inner": 0, "writes": 0}
    # on a miss each rank computes once; only rank 0 goes through the cache (probe + real call) and writes it
    assert ranks[0]["calls_after_miss"] == {"run": [["a", "b"]], "inner": 3, "writes": 1}
    assert ranks[1]["calls_after_miss"] == {"run": [["a", "b"]], "inner": 0, "writes": 0}
    assert ranks[0]["calls"]["run"][-1] == ranks[1]["calls"]["run"][-1] == ["b"]
    assert ranks[1]["calls"]["inner"] == 0


def test_world_from_env():
    assert world_from_env({}) == World(0, 1, 0)
    assert world_from_env({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1"}) == World(3, 4, 1)
    assert world_from_env({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1"}).shard == Shard(3, 4)
    assert requested({"WORLD_SIZE": "2", "RANK": "0"}) and not requested({"WORLD_SIZE": "1"})
    with pytest.raises(UsageError, match="RANK=4"):
        world_from_env({"WORLD_SIZE": "4", "RANK": "4"})
    with pytest.raises(UsageError, match="malformed"):
        world_from_env({"WORLD_SIZE": "two"})


@given(total=st.integers(0, 500), world=st.integers(1, 9))
def test_shards_are_contiguous_disjoint_and_cover(total, world):
    bounds = [Shard(rank, world).bounds(total) for rank in range(world)]
    assert bounds[0][0] == 0 and bounds[-1][1] == total
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    sizes = [hi - lo for lo, hi in bounds]
    assert max(sizes) - min(sizes) <= 1


def test_merging_shard_passes_in_process_equals_one_pass(folders):
    generated, _, _ = folders
    source = FolderSource(str(generated), SourceOptions(skip_bad=True))
    metric = VarianceOfLaplacian()
    whole = run_pass(source, [metric], None, batch_size=4)
    parts = [run_pass(source, [metric], None, batch_size=4, shard=Shard(r, 3)) for r in range(3)]
    merged = merge_pass_results(parts)
    assert merged.count == whole.count == 37
    assert [s.item for s in merged.skipped] == [s.item for s in whole.skipped]
    np.testing.assert_allclose(merged.states["laplacian"].numpy("values"), whole.states["laplacian"].numpy("values"), rtol=1e-12)
    assert np.array_equal(merged.preview, whole.preview)
