"""Atomic writes: a failure at any point leaves the old file intact and no temporary file behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gan_eval import atomic
from gan_eval.atomic import atomic_open, atomic_write_bytes, atomic_write_text

OLD = "old complete contents\n"


@pytest.fixture
def existing(tmp_path) -> Path:
    path = tmp_path / "out.json"
    path.write_text(OLD)
    return path


def test_writes_replace_the_file_and_create_folders(tmp_path, existing):
    atomic_write_text(existing, "new")
    assert existing.read_text() == "new"
    nested = tmp_path / "a" / "b" / "c.bin"
    atomic_write_bytes(nested, b"\x00\x01")
    assert nested.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "out.json"]


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_an_exception_mid_write_leaves_the_old_file(error, existing):
    with pytest.raises(error):
        with atomic_open(existing) as handle:
            handle.write("half of the new conte")
            raise error("interrupted")
    assert existing.read_text() == OLD
    assert os.listdir(existing.parent) == ["out.json"]


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_a_failing_fsync_or_rename_leaves_the_old_file(step, existing, monkeypatch):
    def fail(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, step, fail)
    with pytest.raises(OSError, match="No space left"):
        atomic_write_text(existing, "new contents")
    monkeypatch.undo()
    assert existing.read_text() == OLD
    assert os.listdir(existing.parent) == ["out.json"]


def test_a_killed_writer_leaves_the_old_file(existing):
    """SIGKILL in the middle of a write: no Python cleanup runs, yet the target is the old file."""
    module = Path(atomic.__file__)
    script = textwrap.dedent(f"""
        import importlib.util, sys, time
        spec = importlib.util.spec_from_file_location("atomic", {str(module)!r})
        atomic = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(atomic)
        with atomic.atomic_open({str(existing)!r}) as handle:
            handle.write("x" * 100000)
            handle.flush()
            print("writing", flush=True)
            time.sleep(60)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "writing"
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
        process.stdout.close()
    assert existing.read_text() == OLD
    leftovers = [p for p in os.listdir(existing.parent) if p != "out.json"]
    assert all(p.startswith(".out.json.") and p.endswith(".tmp") for p in leftovers)  # hidden, never the target


def test_written_files_get_ordinary_permissions(tmp_path):
    import os

    from gan_eval.atomic import atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "shared.json", "{}")
    finally:
        os.umask(old)
    assert (tmp_path / "shared.json").stat().st_mode & 0o777 == 0o644
