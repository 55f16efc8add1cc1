"""Interrupted scoring: a kill -9 mid-run leaves no record and a snapshot that the re-run resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gan_eval.engine import run_pass
from gan_eval.plugins import load_registry
from gan_eval.resume import PassCheckpoint
from gan_eval.source import SourceOptions
from gan_eval.specs import open_source

SLOW_PLUGIN = '''
import os, time
import gan_eval
from gan_eval_plugins.laplacian import VarianceOfLaplacian, variance_of_laplacian

class SlowLaplacian(VarianceOfLaplacian):
    """The laplacian metric, slowed down, logging each batch it sees."""
    name = "slow_laplacian"

    def update(self, state, inputs):
        with open(os.environ["SLOW_LOG"], "a") as log:
            log.write("batch\\n")
        time.sleep(float(os.environ.get("SLOW_SECONDS", "0")))
        super().update(state, inputs)

@gan_eval.hookimpl
def register_metrics():
    return [SlowLaplacian]
'''


def _score_cmd(plugin: Path, resume: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gan_eval",
        "score",
        "dataset:mnist5k:test",
        "-m",
        "slow_laplacian",
        "-q",
        "--plugin",
        str(plugin),
        "--batch-size",
        "50",
        "--resume-dir",
        str(resume),
        "--resume-every",
        "2",
        "--out",
        str(out),
    ]


def test_kill_9_then_rerun_resumes_and_matches_an_uninterrupted_run(tmp_path):
    plugin = tmp_path / "slow_plugin.py"
    plugin.write_text(SLOW_PLUGIN)
    resume, out, log = tmp_path / "resume", tmp_path / "run.json", tmp_path / "batches.log"
    env = {**os.environ, "SLOW_LOG": str(log), "SLOW_SECONDS": "0.15"}

    proc = subprocess.Popen(_score_cmd(plugin, resume, out), env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not list(resume.glob("pass-*.npz")):
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no snapshot was written"
        time.sleep(0.05)
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first_run_batches = len(log.read_text().splitlines())
    assert 0 < first_run_batches < 20
    assert not out.exists(), "a killed run must not leave a record"
    assert not list(resume.glob(".*.tmp")), "no temporary file may survive as if valid"

    log.unlink()
    env["SLOW_SECONDS"] = "0"
    subprocess.run(_score_cmd(plugin, resume, out), env=env, check=True, capture_output=True)
    resumed_batches = len(log.read_text().splitlines())
    assert resumed_batches < 20, "the re-run should start from the snapshot, not from the beginning"
    assert not list(resume.glob("pass-*.npz")), "snapshots are removed once the job completes"

    resumed = json.loads(out.read_text())
    straight = subprocess.run(
        [sys.executable, "-m", "gan_eval", "score", "dataset:mnist5k:test", "-m", "laplacian", "-q", "--json", "--batch-size", "50"],
        check=True,
        capture_output=True,
        text=True,
    )
    expected = json.loads(straight.stdout)["results"][0]["values"]
    got = resumed["results"][0]["values"]
    assert resumed["inputs"]["generated"]["count"] == 1000
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-12)


def test_snapshot_of_another_pass_is_ignored(tmp_path):
    registry = load_registry()
    source = open_source(registry, "dataset:mnist5k:test", SourceOptions(limit=200))
    metric = registry.metric("laplacian")()
    first = PassCheckpoint(tmp_path, {"pass": "a"}, every=1)
    run_pass(source, [metric], None, batch_size=50, checkpoint=first)
    other = PassCheckpoint(tmp_path, {"pass": "b"}, every=1000)
    assert other.load({"laplacian": metric.new_state()}) is None
    assert first.load({"laplacian": metric.new_state()}).batches_done == 4


def test_corrupt_snapshot_starts_afresh(tmp_path):
    registry = load_registry()
    source = open_source(registry, "dataset:mnist5k:test", SourceOptions(limit=100))
    metric = registry.metric("laplacian")()
    checkpoint = PassCheckpoint(tmp_path, {"pass": "a"}, every=1000)
    checkpoint.path.write_bytes(b"PK\x03\x04 not really a zip")
    result = run_pass(source, [metric], None, batch_size=50, checkpoint=checkpoint)
    assert result.count == 100
    reference = run_pass(source, [metric], None, batch_size=50)
    np.testing.assert_array_equal(result.states["laplacian"].numpy("values"), reference.states["laplacian"].numpy("values"))


def test_kill_9_during_the_reference_pass_leaves_no_cache_entry_and_the_rerun_is_right(tmp_path):
    plugin = tmp_path / "slow_plugin.py"
    plugin.write_text(SLOW_PLUGIN)
    cache, out, log = tmp_path / "cache", tmp_path / "run.json", tmp_path / "batches.log"
    env = {**os.environ, "SLOW_LOG": str(log), "SLOW_SECONDS": "0.1", "GAN_EVAL_CACHE_DIR": str(cache)}
    cmd = [
        sys.executable,
        "-m",
        "gan_eval",
        "score",
        "dataset:mnist5k:test",
        "--ref",
        "dataset:mnist5k:train",
        "-m",
        "slow_laplacian",
        "-q",
        "--plugin",
        str(plugin),
        "--batch-size",
        "100",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not log.exists() or len(log.read_text().splitlines()) < 14:  # 10 generated batches, then the reference's
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "the run did not reach its reference pass"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    # only the reference's (empty) lock file may remain: the kernel released the lock with the process
    left = [p for p in cache.rglob("*") if p.is_file() and p.suffix != ".lock"]
    assert not left, "a killed reference pass must not leave a cache entry"

    env["SLOW_SECONDS"] = "0"
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    entries = [p for p in cache.rglob("*.npz")]
    assert len(entries) == 1 and not list(cache.rglob("*.tmp"))
    first = json.loads(out.read_text())["results"][0]["values"]

    log.unlink()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    assert len(log.read_text().splitlines()) == 10, "the third run reads the reference from the cache"
    assert json.loads(out.read_text())["results"][0]["values"] == first
    straight = subprocess.run(
        [sys.executable, "-m", "gan_eval", "score", "dataset:mnist5k:test", "--ref", "dataset:mnist5k:train", "-m", "laplacian", "-q", "--json", "--no-cache"],
        check=True,
        capture_output=True,
        text=True,
    )
    for key, value in json.loads(straight.stdout)["results"][0]["values"].items():
        assert first[key] == pytest.approx(value, rel=1e-12)
