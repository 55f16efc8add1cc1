"""Atomic file writes: a reader sees the old file or the complete new one, never a partial one.

Policy for what is already at the target path (docs/reliability.md, *Output files*):

- a regular file is replaced and keeps its permission bits (a 0600 file stays 0600) and, where
  allowed, its owner; a new file gets ``0666 & ~umask``;
- a symbolic link is written *through*: the file it points to is replaced, the link stays;
- anything else (a device such as ``/dev/null``, a FIFO, a socket, a folder) is never replaced:
  :class:`UsageError`.

:func:`check_writable` and :func:`check_distinct_outputs` let a command refuse bad outputs *before*
a long run; :class:`AtomicWriteGroup` commits several outputs only when every one was written.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Iterable, Iterator

from .errors import UsageError
from .reading import file_kind


def resolve_target(path: str | Path) -> Path:
    """The file a write to ``path`` replaces: symlinks followed; a non-regular file is refused."""
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise UsageError(f"{path}: cannot write there: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"{path}: is {file_kind(info.st_mode)}, not a regular file: refusing to replace it with an output file")
    return target


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success fsync it and rename it over ``path``.

    On any exception (Ctrl-C included) the temporary file is removed and ``path`` is untouched.
    """
    with AtomicWriteGroup() as group:
        with group.open(path, mode, encoding) as handle:
            yield handle


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_open(path, "w") as handle:
        handle.write(text)


class AtomicWriteGroup:
    """Several outputs committed together: every temporary file is written and fsynced first; only
    when the ``with`` block ends without an exception are they all renamed over their targets.

    >>> with AtomicWriteGroup() as group:
    ...     group.write_text("run.json", record_text)
    ...     group.write_text("report.html", render())   # raises → run.json is not replaced either
    """

    def __init__(self) -> None:
        self._pending: list[tuple[str, Path]] = []  # (temporary file, target)

    def __enter__(self) -> "AtomicWriteGroup":
        return self

    @contextlib.contextmanager
    def open(self, path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
        target = resolve_target(path)
        if any(os.path.abspath(t) == os.path.abspath(target) for _, t in self._pending):
            raise UsageError(f"{path}: written twice in one group of outputs")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        self._pending.append((tmp, target))
        _copy_mode(fd, target)
        binary = "b" in mode
        with os.fdopen(fd, mode, encoding=None if binary else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())

    def write_bytes(self, path: str | Path, data: bytes) -> None:
        with self.open(path, "wb") as handle:
            handle.write(data)

    def write_text(self, path: str | Path, text: str) -> None:
        with self.open(path, "w") as handle:
            handle.write(text)

    def __exit__(self, kind, value, traceback) -> None:
        if kind is not None:
            self._discard()
            return
        try:
            for position, (tmp, target) in enumerate(self._pending):
                os.replace(tmp, target)
                _fsync_dir(target.parent)
        except BaseException:
            self._pending = self._pending[position:]
            self._discard()
            raise
        self._pending = []

    def _discard(self) -> None:
        for tmp, _ in self._pending:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        self._pending = []


def check_writable(path: str | Path) -> Path:
    """Refuse, before any work is done, an output path that could not be written: its folder is
    missing (or not a folder) or not writable, its name is too long, or it is (or links to) a folder,
    a device, a FIFO, a read-only or immutable file. Returns the file a write would replace."""
    path = Path(path)
    if not str(path) or path.name in ("", ".", ".."):
        raise UsageError(f"{str(path)!r}: not a file name")
    for part in path.parts:
        if len(os.fsencode(part)) > _name_max(path):
            raise UsageError(f"{path}: file name {part[:40]!r}… is {len(os.fsencode(part))} bytes, over this file system's {_name_max(path)}-byte limit")
    existing = path.parent
    while not _lexists(existing) and existing.parent != existing:  # atomic_open creates missing folders
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{path}: cannot write there: {existing} is not a folder")
    target = resolve_target(path)
    folder = existing = target.parent
    while not _lexists(existing) and existing.parent != existing:
        existing = existing.parent
    if existing == folder:
        _try_create_in(folder, path)
    elif not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{path}: cannot create folders in {existing}: permission denied")
    if target.exists():
        try:
            os.close(os.open(target, os.O_WRONLY | getattr(os, "O_NONBLOCK", 0)))  # no O_TRUNC: nothing changes
        except OSError as exc:
            raise UsageError(f"{path}: exists and cannot be replaced ({exc.strerror or exc}: read-only or immutable)") from None
    return target


def check_distinct_outputs(outputs: Iterable[str | Path | None], inputs: Iterable[str | Path | None] = ()) -> None:
    """Refuse two outputs that are the same file, or an output that is one of the input files,
    compared after resolving symlinks and by inode (hard links)."""
    outs: list[Path] = [Path(p) for p in outputs if p]
    ins: list[Path] = [Path(p) for p in inputs if p]
    for i, first in enumerate(outs):
        for second in outs[i + 1 :]:
            if _same_file(first, second):
                raise UsageError(f"outputs {str(first)!r} and {str(second)!r} are the same file: one would overwrite the other")
        for source in ins:
            if _same_file(first, source):
                raise UsageError(f"output {str(first)!r} is the input {str(source)!r}: writing it would destroy the input")


def _lexists(path: Path) -> bool:
    try:
        os.lstat(path)
    except OSError:
        return False
    return True


def _name_max(path: Path) -> int:
    folder = path.parent
    while not folder.is_dir() and folder.parent != folder:
        folder = folder.parent
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError):
        return 255


def _same_file(a: Path, b: Path) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _try_create_in(folder: Path, path: Path) -> None:
    try:
        fd, tmp = tempfile.mkstemp(prefix=".gan-eval-write-check.", dir=folder)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write in {folder}: {exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(tmp)


def _copy_mode(fd: int, target: Path) -> None:
    """The replaced file's permission bits (and owner, where allowed); a new file's from the umask."""
    try:
        info = os.stat(target)
    except FileNotFoundError:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a record or stats file is meant to be shared
        return
    os.fchmod(fd, stat.S_IMODE(info.st_mode))
    if hasattr(os, "fchown"):
        with contextlib.suppress(OSError):
            os.fchown(fd, info.st_uid, info.st_gid)


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (``os.umask`` to read it races threads)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    current = os.umask(0)
    os.umask(current)
    return current


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
