"""Multi-node scoring: two torchrun "nodes" on 127.0.0.1 joined by the c10d rendezvous, one process
each, give the single-process results; the process that got rank 0 alone writes the record."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
WORKER = Path(__file__).parent / "multinode_worker.py"
METRICS = ("fid", "kid", "is", "laplacian")
#: Seconds a whole run may take before it counts as hung (a normal run takes ~20 s).
TIMEOUT = 240


def _env() -> dict[str, str]:
    drop = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "GROUP_RANK", "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_RUN_ID")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return {**env, "OMP_NUM_THREADS": "1", "GAN_EVAL_CACHE_DIR": "/nonexistent-unused"}


def _score_args(out: Path) -> list[str]:
    return [
        "score",
        "dataset:mnist5k:test",
        "--limit",
        "64",
        "--ref",
        "dataset:mnist5k:train",
        "--limit-ref",
        "64",
        "--extractor",
        "mnist-cnn",
        *[a for m in METRICS for a in ("-m", m)],
        "-O",
        "kid.subsets=10",
        "-O",
        "kid.subset_size=32",
        "--batch-size",
        "8",
        "--device",
        "cpu",
        "--no-cache",
        "-q",
        "--out",
        str(out),
    ]


def _free_port() -> int:
    """A port nothing listens on now (the OS picks it; a race with another process is retried)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _two_nodes(tmp_path: Path, port: int) -> tuple[dict[str, subprocess.CompletedProcess], dict[str, Path]]:
    outs, procs = {}, {}
    for node in ("node0", "node1"):
        outs[node] = tmp_path / f"{node}.json"
        rendezvous = [
            "--nnodes",
            "2",
            "--node-rank",
            node[-1],
            "--nproc-per-node",
            "1",
            "--max-restarts",
            "0",
            "--rdzv-backend",
            "c10d",
            "--rdzv-endpoint",
            f"127.0.0.1:{port}",
            "--rdzv-id",
            f"gan-eval-test-{port}",
            "--local-addr",
            "127.0.0.1",
        ]
        procs[node] = subprocess.Popen(
            [str(BIN / "torchrun"), *rendezvous, str(WORKER), node, str(tmp_path), *_score_args(outs[node])],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
    done = {}
    try:
        for node, proc in procs.items():
            stdout, stderr = proc.communicate(timeout=TIMEOUT)
            done[node] = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    finally:
        for proc in procs.values():  # a hang fails the test instead of hanging CI
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return done, outs


def test_two_nodes_with_c10d_rendezvous_equal_one_process(tmp_path):
    single = subprocess.run(
        [str(BIN / "gan-eval"), *_score_args(tmp_path / "single.json")], capture_output=True, text=True, env=_env(), timeout=TIMEOUT, check=False
    )
    assert single.returncode == 0, single.stderr
    for attempt in range(3):  # the free port may be taken between probing and binding
        runs, outs = _two_nodes(tmp_path, _free_port())
        if all(run.returncode == 0 for run in runs.values()) or "address already in use" not in "".join(r.stderr for r in runs.values()).lower():
            break
    for node, run in runs.items():
        assert run.returncode == 0, f"{node}:\n{run.stderr[-3000:]}"

    marks = {node: (tmp_path / f"{node}.rank").read_text().split() for node in runs}
    assert sorted(m[0] for m in marks.values()) == ["0", "1"] and {m[1] for m in marks.values()} == {"2"}
    writer = next(node for node, mark in marks.items() if mark[0] == "0")
    other = "node1" if writer == "node0" else "node0"
    # rank 0 alone writes the record and prints, whichever node the rendezvous put it on
    assert outs[writer].is_file() and not outs[other].exists()
    assert "record written to" in runs[writer].stdout and runs[other].stdout.strip() == ""

    one = json.loads((tmp_path / "single.json").read_text())
    two = json.loads(outs[writer].read_text())
    assert two["distributed"] == {"world_size": 2, "backend": "gloo"} and "distributed" not in one
    assert two["inputs"]["generated"]["count"] == one["inputs"]["generated"]["count"] == 64
    assert two["inputs"]["reference"]["count"] == 64

    by_name = lambda record: {r["name"]: r["values"] for r in record["results"]}
    ones, twos = by_name(one), by_name(two)
    assert ones.keys() == twos.keys() == {"fid@mnist-cnn", "kid@mnist-cnn", "is@mnist-cnn", "laplacian"}
    # FID: float64 sums all-reduced across the nodes, equal up to addition order
    for key, value in ones["fid@mnist-cnn"].items():
        assert twos["fid@mnist-cnn"][key] == pytest.approx(value, rel=1e-10, abs=1e-12), key
    # the others: the very same feature rows, gathered in the single-process order
    for name in ("kid@mnist-cnn", "is@mnist-cnn", "laplacian"):
        for key, value in ones[name].items():
            assert twos[name][key] == pytest.approx(value, rel=1e-12, abs=1e-15), (name, key)
    assert ones["fid@mnist-cnn"]["fid"] > 0.01 and ones["is@mnist-cnn"]["mean"] > 1.5  # real digits, not constants
