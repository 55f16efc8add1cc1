"""Read input files safely: regular files only, never more bytes than a stated limit.

A FIFO, a socket or a device (``/dev/zero`` behind a symlink called ``x.png``) would block or never
end; they are refused before they are opened, and again on the opened descriptor (so a file swapped
for a FIFO in between cannot block either: ``O_NONBLOCK`` makes the open itself return at once).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any, BinaryIO

from .errors import InputError


class ChangedWhileReading(InputError):
    """An input's bytes differ from those its fingerprint was made from (``--skip-bad`` never skips it:
    the record would certify content that was not scored)."""


#: Largest input file read whole into memory (an image or ``.npy`` file in a folder).
MAX_FILE_BYTES = 1 << 30


def display_name(path: str | Path) -> str:
    """``path`` as printable text: bytes that are not UTF-8 appear as ``\\xff`` escapes, never as
    lone surrogates that would make printing or JSON-encoding the message fail."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words (for error messages)."""
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _os_problem(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "cannot read: symbolic link loop"
    return f"cannot read: {exc.strerror or exc}"


def open_regular(path: str | Path) -> BinaryIO:
    """Open ``path`` for binary reading if it is (or links to) a regular file, else InputError."""
    where = display_name(path)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise InputError(where, _os_problem(exc)) from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(where, f"is {file_kind(info.st_mode)}, not a regular file: refused (only regular files are read)")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(where, _os_problem(exc)) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise InputError(where, f"is {file_kind(info.st_mode)}, not a regular file: refused (only regular files are read)")
    return os.fdopen(fd, "rb")


def read_regular(path: str | Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """All bytes of a regular file, refusing files over ``limit`` bytes before reading them."""
    with open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise InputError(display_name(path), f"file is {format_bytes(size)}, over the {format_bytes(limit)} limit for one input file")
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise InputError(display_name(path), _os_problem(exc)) from None
    if len(data) > limit:
        raise InputError(display_name(path), f"file grew past the {format_bytes(limit)} limit while being read")
    return data


def format_bytes(count: float) -> str:
    """``1536`` → ``'1.5 KiB'``: sizes in messages."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return f"{count:,.0f} bytes" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def load_npz(path: str | Path, what: str) -> dict[str, Any]:
    """Every array of an ``.npz`` file we were given (``what``: "stats", "feature" ...), read without
    pickle; a missing, irregular or unreadable file is an InputError naming it."""
    import zipfile

    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise InputError(path, f"no such {what} file" if not path.exists() else "not a regular file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, MemoryError) as exc:
        raise InputError(path, f"cannot be read as a {what} .npz file: {exc}") from None
