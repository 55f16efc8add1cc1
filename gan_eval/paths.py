"""Paths taken from files we read (a manifest's labels, a record's file names) stay inside their folder.

``safe_child(folder, name)`` is the one gate: a name that is absolute, has a ``..`` part, holds a NUL
or reaches outside ``folder`` through a symlink is an error naming the file it came from, so a
manifest can never make gan-eval write (or read) anywhere else.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath

from .errors import InputError


def safe_child(folder: str | Path, name: str, source: str | Path | None = None) -> Path:
    """``folder / name`` if it stays inside ``folder`` (after resolving symlinks), else InputError.

    ``source`` is the file ``name`` was read from (named in the error). ``name`` may contain
    sub-folders (``a/b.json``) but no ``..``, no absolute or drive part and no NUL.
    """
    where = str(source) if source is not None else str(folder)
    if not isinstance(name, str) or not name or "\0" in name:
        raise InputError(where, f"{name!r} is not a usable file name")
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).drive or PureWindowsPath(name).is_absolute() or ".." in parts:
        raise InputError(
            where, f"path {name!r} would leave its folder {str(folder)!r}: names read from a file must stay inside it (no absolute paths, no '..')"
        )
    child = Path(folder) / name
    root = os.path.realpath(folder)
    resolved = os.path.realpath(child)
    if os.path.commonpath([root, resolved]) != root:
        raise InputError(where, f"path {name!r} leads outside its folder {str(folder)!r} (through a symbolic link to {resolved!r})")
    return child
