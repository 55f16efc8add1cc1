"""SHA-256 of files and of framed records (fingerprints, weights and checkpoint hashes all use it).

Fingerprints hash several fields (names, contents, options) into one digest. Each field is framed
(tag and value each preceded by its length), so no two different sequences of fields can produce
the same stream of bytes: a folder holding ``a.png`` = ``X\\0b.png\\0Y`` never hashes like one
holding ``a.png`` = ``X`` and ``b.png`` = ``Y``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .reading import open_regular

CHUNK = 1 << 20


def update_from_file(digest: "hashlib._Hash", path: str | Path) -> None:
    """Feed a regular file's bytes into ``digest`` in chunks (FIFOs and devices are refused)."""
    with open_regular(path) as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    update_from_file(digest, path)
    return digest.hexdigest()


def sha256_bytes(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


class FramedDigest:
    """SHA-256 over a sequence of (tag, value) fields, each length-prefixed (8 bytes, big-endian)."""

    def __init__(self, scheme: str):
        self._digest = hashlib.sha256()
        self.field("scheme", scheme)

    def field(self, tag: str, value: bytes | str | int | None) -> "FramedDigest":
        if value is None:
            data = b"\x00none"
        elif isinstance(value, bytes):
            data = value
        else:
            data = str(value).encode("utf-8", "surrogateescape")
        for part in (tag.encode(), data):
            self._digest.update(len(part).to_bytes(8, "big"))
            self._digest.update(part)
        return self

    def hexdigest(self) -> str:
        return self._digest.hexdigest()
