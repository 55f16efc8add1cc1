"""Resumable passes: periodic, atomic snapshots of a pass's mergeable state.

A snapshot holds the metric states (``State.to_arrays``), the number of batches done, the image count,
the skipped list and the preview. It is keyed by everything that determines the pass (source
fingerprint, metrics and their parameters, extractor identity, batch size, shard), so a snapshot is
only ever resumed by the very same pass; anything else starts afresh. A kill at any moment leaves
either the previous snapshot or the new one, never a partial file.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .atomic import atomic_write_bytes
from .source import Skip
from .state import State

FORMAT = "gan-eval-pass-snapshot/1"


@dataclass
class Snapshot:
    batches_done: int
    count: int
    skipped: list[Skip]
    states: dict[str, State]
    preview: np.ndarray | None


class PassCheckpoint:
    """Where and how often one pass saves its state (``every`` batches)."""

    def __init__(self, directory: str | Path, key_parts: Mapping[str, Any], every: int = 50):
        self.key = hashlib.sha256(json.dumps(key_parts, sort_keys=True, default=str).encode()).hexdigest()
        self.path = Path(directory) / f"pass-{self.key[:24]}.npz"
        self.every = max(1, int(every))

    def load(self, fresh_states: dict[str, State]) -> Snapshot | None:
        """The saved snapshot for this exact pass, or None (absent, foreign or unreadable: start afresh)."""
        if not self.path.is_file():
            return None
        try:
            with np.load(self.path, allow_pickle=False) as archive:
                header = json.loads(bytes(archive["__header__"]).decode())
                if header.get("format") != FORMAT or header.get("key") != self.key:
                    return None
                states = {}
                for name, fresh in fresh_states.items():
                    prefix = f"{name}/"
                    arrays = {k[len(prefix) :]: archive[k] for k in archive.files if k.startswith(prefix)}
                    states[name] = State.from_arrays(fresh.spec, arrays, blocks=fresh.blocks or None)
                preview = archive["__preview__"] if "__preview__" in archive.files else None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError):
            return None
        return Snapshot(header["batches_done"], header["count"], [Skip(**s) for s in header["skipped"]], states, preview)

    def save(self, snapshot: Snapshot) -> None:
        header = {
            "format": FORMAT,
            "key": self.key,
            "batches_done": snapshot.batches_done,
            "count": snapshot.count,
            "skipped": [asdict(s) for s in snapshot.skipped],
        }
        arrays = {"__header__": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)}
        for name, state in snapshot.states.items():
            arrays.update({f"{name}/{k}": v for k, v in state.to_arrays().items()})
        if snapshot.preview is not None:
            arrays["__preview__"] = snapshot.preview
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub types the first keyword only
        atomic_write_bytes(self.path, buffer.getvalue())

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
