"""Atomic writes: a failure at any point leaves the old file intact and no temporary file behind."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gan_eval import atomic
from gan_eval.atomic import AtomicWriteGroup, atomic_open, atomic_write_bytes, atomic_write_text, check_distinct_outputs, check_writable
from gan_eval.errors import UsageError

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
    root = Path(atomic.__file__).parents[1]
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(root)!r})
        from gan_eval import atomic
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


# -- what is already at the target: mode, symlinks, non-regular files (issue 18) ---------------------


def test_replacing_a_file_keeps_its_mode(tmp_path):
    private = tmp_path / "private.json"
    private.write_text("old")
    private.chmod(0o600)
    atomic_write_text(private, "new")
    assert private.read_text() == "new" and private.stat().st_mode & 0o777 == 0o600


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "real" / "run.json"
    real.parent.mkdir()
    real.write_text(OLD)
    real.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    atomic_write_text(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new" and real.stat().st_mode & 0o777 == 0o640
    assert sorted(os.listdir(real.parent)) == ["run.json"]  # the temporary file lived beside the target


def test_a_fifo_or_folder_is_never_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "folder").mkdir()
    for target in (fifo, tmp_path / "folder"):
        with pytest.raises(UsageError, match="not a regular file: refusing to replace it"):
            atomic_write_text(target, "x")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    link = tmp_path / "to-pipe"
    link.symlink_to(fifo)
    with pytest.raises(UsageError, match="FIFO"):
        atomic_write_text(link, "x")
    assert sorted(os.listdir(tmp_path)) == ["folder", "pipe", "to-pipe"]


def test_dev_null_is_refused_by_the_check_without_writing():
    with pytest.raises(UsageError, match="/dev/null: is a character device"):
        check_writable("/dev/null")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


# -- check_writable: refuse before the run --------------------------------------------------------


def test_check_writable_accepts_new_and_existing_files(tmp_path, existing):
    assert check_writable(existing) == existing
    assert check_writable(tmp_path / "new.json") == tmp_path / "new.json"
    assert check_writable(tmp_path / "not" / "yet" / "made.json") == tmp_path / "not" / "yet" / "made.json"
    assert sorted(os.listdir(tmp_path)) == ["out.json"]  # checking leaves nothing behind


@pytest.mark.parametrize(
    "case, problem",
    [
        ("folder", "not a regular file"),
        ("parent is a file", "is not a folder"),
        ("name too long", "byte limit"),
        ("no name", "not a file name"),
    ],
)
def test_check_writable_refuses_unwritable_paths(tmp_path, existing, case, problem):
    path = {"folder": tmp_path, "parent is a file": existing / "x.json", "name too long": tmp_path / ("n" * 300 + ".json"), "no name": Path("")}[case]
    with pytest.raises(UsageError, match=problem):
        check_writable(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_check_writable_refuses_read_only_folders_and_files(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "old.json").write_text(OLD)
    (tmp_path / "ro.json").write_text(OLD)
    (tmp_path / "ro.json").chmod(0o444)
    locked.chmod(0o500)
    try:
        with pytest.raises(UsageError, match="cannot write in"):
            check_writable(locked / "new.json")
        with pytest.raises(UsageError, match="read-only or immutable"):
            check_writable(tmp_path / "ro.json")
    finally:
        locked.chmod(0o700)


def test_check_distinct_outputs(tmp_path, existing):
    other = tmp_path / "other.json"
    hard = tmp_path / "hard.json"
    os.link(existing, hard)
    link = tmp_path / "link.json"
    link.symlink_to(existing)
    check_distinct_outputs([existing, other], inputs=[tmp_path / "input.npz"])
    check_distinct_outputs([existing, None], inputs=[None])
    for outputs, inputs, problem in [
        ([existing, tmp_path / "." / "out.json"], [], "are the same file"),
        ([existing, link], [], "are the same file"),
        ([existing, hard], [], "are the same file"),
        ([other], [other], "is the input"),
        ([link], [existing], "is the input"),
    ]:
        with pytest.raises(UsageError, match=problem):
            check_distinct_outputs(outputs, inputs)


# -- AtomicWriteGroup: all outputs or none --------------------------------------------------------


def test_group_commits_all_outputs_together(tmp_path, existing):
    html = tmp_path / "report.html"
    with AtomicWriteGroup() as group:
        group.write_text(existing, "record")
        group.write_bytes(html, b"<html>")
        assert existing.read_text() == OLD and not html.exists()  # nothing is replaced before the end
    assert existing.read_text() == "record" and html.read_bytes() == b"<html>"
    assert sorted(os.listdir(tmp_path)) == ["out.json", "report.html"]


def test_group_replaces_nothing_when_a_later_output_fails(tmp_path, existing):
    with pytest.raises(RuntimeError, match="report failed"):
        with AtomicWriteGroup() as group:
            group.write_text(existing, "record")
            with group.open(tmp_path / "report.html") as handle:
                handle.write("<html>half")
                raise RuntimeError("report failed")
    assert existing.read_text() == OLD
    assert os.listdir(tmp_path) == ["out.json"]


def test_group_refuses_the_same_target_twice(tmp_path, existing):
    with pytest.raises(UsageError, match="written twice"):
        with AtomicWriteGroup() as group:
            group.write_text(existing, "a")
            group.write_text(tmp_path / "link-free" / ".." / "out.json", "b")
    assert existing.read_text() == OLD and os.listdir(tmp_path) == ["out.json"]
