"""SHA-256 of files, read in chunks (fingerprints, weights and checkpoint hashes all use it)."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20


def update_from_file(digest: "hashlib._Hash", path: str | Path) -> None:
    """Feed a file's bytes into ``digest`` without reading the whole file into memory."""
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    update_from_file(digest, path)
    return digest.hexdigest()
