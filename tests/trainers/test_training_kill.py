"""kill -9 during `gan-eval train teacher`, then a rerun with --resume (issue #8).

A real subprocess is SIGKILLed (no cleanup runs); the files it leaves must be either complete and
loadable or orphaned temporaries that nothing reads, and the resumed run must end with generator
weights bit-identical to an uninterrupted run. Budget: about 15–25 s on the shared 2-core machine.
"""

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
import torch

from trainers.checkpoint import load_generator, load_torch, read_checkpoint, record_path, train_state_path
from trainers.training import TrainConfig, train

STEPS = 40
EVERY = 2
OUTPUTS = ("run.pt", "run.json", "run.train.pt", "run.log.csv")


@pytest.fixture
def noise_data(tmp_path) -> str:
    path = tmp_path / "noise.npz"
    np.savez(path, images=np.random.default_rng(0).integers(0, 256, (48, 28, 28), dtype=np.uint8))
    return f"npz:{path}"


def command(data: str, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gan_eval",
        "train",
        "teacher",
        "--data",
        data,
        "--d",
        "4",
        "--batch-size",
        "8",
        "--steps",
        str(STEPS),
        "--checkpoint-every",
        str(EVERY),
        "--seed",
        "3",
        "-q",
        "--out",
        str(out),
        *extra,
    ]


def environment() -> dict[str, str]:
    # One thread in every run: the same reduction order, hence bit-identical CPU results.
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def wait_for(condition, proc: subprocess.Popen, what: str, limit: float = 300.0) -> None:
    """Poll ``condition`` (the limit only stops a hung test; nothing here asserts on time)."""
    deadline = time.monotonic() + limit
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the run exited (code {proc.returncode}) before {what}: {proc.stderr.read()!r}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.002)


def kill_when(data: str, out: Path, condition, what: str, delay: float = 0.0) -> None:
    proc = subprocess.Popen(command(data, out, "--resume"), env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(condition, proc, what)
        time.sleep(delay)
        assert proc.poll() is None, "the run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def assert_leftovers_are_clean(folder: Path) -> int:
    """Every output present loads and is consistent; anything else is an orphaned ``.NAME.*.tmp``.
    Returns the training state's step."""
    for path in folder.iterdir():
        if path.name in OUTPUTS or path.name == "noise.npz":
            continue
        assert path.name.startswith(".") and path.name.endswith(".tmp") and any(path.name.startswith(f".{o}.") for o in OUTPUTS), path
    out = folder / "run.pt"
    state = load_torch(train_state_path(out))
    assert 0 < state["step"] < STEPS and state["step"] % EVERY == 0
    if out.is_file():  # written after the state: the same step, or one interval behind if killed in between
        generator, record = load_generator(out)
        assert record["steps"] in (state["step"], state["step"] - EVERY)
        if record_path(out).is_file():  # written last: the same step or one interval behind
            listed = json.loads(record_path(out).read_text())
            assert listed["steps"] in (record["steps"], record["steps"] - EVERY)
        else:  # killed between the very first checkpoint and its record
            assert record["steps"] == EVERY
        if record["steps"] == state["step"]:
            assert all(torch.equal(v, state["generator"][k]) for k, v in read_checkpoint(out)["generator"].items())
    return int(state["step"])


def test_kill_9_then_resume_matches_an_uninterrupted_run(tmp_path, noise_data):
    straight_dir, killed_dir = tmp_path / "straight", tmp_path / "killed"
    straight_dir.mkdir(), killed_dir.mkdir()
    straight, killed = straight_dir / "run.pt", killed_dir / "run.pt"
    # The uninterrupted run goes on beside the killed one (one thread each).
    reference = subprocess.Popen(command(noise_data, straight), env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    # 1. Killed as soon as the first periodic checkpoint exists.
    kill_when(noise_data, killed, killed.is_file, "the first checkpoint")
    first = assert_leftovers_are_clean(killed_dir)

    # 2. Resumed, then killed again a little after a later checkpoint began to be replaced
    #    (the delay lands the kill somewhere in the next steps or writes).
    def advanced() -> bool:
        try:
            return load_torch(train_state_path(killed))["step"] >= first + 4 * EVERY
        except Exception:  # noqa: BLE001 -- mid-rename on some filesystems; poll again
            return False

    kill_when(noise_data, killed, advanced, "a later checkpoint", delay=0.013)
    second = assert_leftovers_are_clean(killed_dir)
    assert second > first  # the second run resumed instead of starting again

    # 3. Rerun to the end.
    done = subprocess.run(command(noise_data, killed, "--resume"), env=environment(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in killed_dir.iterdir()) == sorted(OUTPUTS)  # no temporaries left behind

    _, errors = reference.communicate()
    assert reference.returncode == 0, errors
    a, b = read_checkpoint(straight), read_checkpoint(killed)
    assert a["record"]["steps"] == b["record"]["steps"] == STEPS
    assert a["generator"].keys() == b["generator"].keys()
    assert all(torch.equal(a["generator"][k], b["generator"][k]) for k in a["generator"])
    sa, sb = load_torch(train_state_path(straight)), load_torch(train_state_path(killed))
    assert all(torch.equal(sa["discriminator"][k], sb["discriminator"][k]) for k in sa["discriminator"])
    assert json.loads(record_path(killed).read_text())["steps"] == STEPS


class Killed(BaseException):
    """Stands in for SIGKILL inside one process: nothing after the raise runs."""


def test_a_kill_between_the_final_state_and_the_checkpoint_is_repaired_on_resume(tmp_path, noise_data, monkeypatch):
    """save() writes the training state, then the checkpoint. Killed in between at the last step,
    the state says 'finished' while the checkpoint is an interval old: resuming must rewrite it."""
    config = dict(d=2, steps=4, batch_size=4, checkpoint_every=2, data=noise_data)
    train(TrainConfig(**config), tmp_path / "straight.pt", progress=False)

    import trainers.training as training

    real_save_generator = training.save_generator

    def dies_at_the_end(path, generator, record, **kw):
        if record["steps"] == config["steps"]:
            raise Killed
        real_save_generator(path, generator, record, **kw)

    monkeypatch.setattr(training, "save_generator", dies_at_the_end)
    out = tmp_path / "run.pt"
    with pytest.raises(Killed):
        train(TrainConfig(**config), out, progress=False)
    monkeypatch.setattr(training, "save_generator", real_save_generator)
    assert load_torch(train_state_path(out))["step"] == 4 and read_checkpoint(out)["record"]["steps"] == 2

    record = train(TrainConfig(**config), out, resume=True, progress=False)
    assert record["steps"] == 4
    assert read_checkpoint(out)["record"]["steps"] == 4 and json.loads(record_path(out).read_text())["steps"] == 4
    a, b = read_checkpoint(tmp_path / "straight.pt")["generator"], read_checkpoint(out)["generator"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_rerun_removes_temporaries_a_killed_write_left(tmp_path, noise_data):
    out = tmp_path / "run.pt"
    orphans = [
        tmp_path / ".run.pt.abc123.tmp",
        tmp_path / ".run.train.pt.x.tmp",
        tmp_path / ".run.json.y.tmp",
        tmp_path / ".run.log.csv.z.tmp",
        tmp_path / ".run.best.pt.w.tmp",
    ]
    for orphan in orphans:
        orphan.write_bytes(b"half a checkpoint")
    unrelated = tmp_path / ".other.pt.z.tmp"
    unrelated.write_bytes(b"someone else's")
    train(TrainConfig(d=2, steps=2, batch_size=4, data=noise_data), out, progress=False)
    assert not any(o.exists() for o in orphans)
    assert unrelated.exists()
