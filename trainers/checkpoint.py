"""Generator checkpoints and resumable training states: plain tensors and JSON-able records only.

``NAME.pt`` holds ``{"format", "record", "generator"}`` (the record also lands in ``NAME.json`` for
people); ``NAME.train.pt`` holds everything needed to resume (discriminator, optimisers, step).
Both are written atomically and read with ``torch.load(weights_only=True)``: a file that would need
pickled code to load is refused, and nothing in it is ever executed.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from gan_eval.atomic import atomic_write_bytes, atomic_write_text
from gan_eval.errors import InputError
from gan_eval.hashing import sha256_file

from .models import Architecture, Generator

CHECKPOINT_FORMAT = "gan-eval-generator/1"
TRAIN_STATE_FORMAT = "gan-eval-train-state/1"


def train_state_path(checkpoint: str | Path) -> Path:
    path = Path(checkpoint)
    return path.with_name(path.stem + ".train.pt")


def record_path(checkpoint: str | Path) -> Path:
    path = Path(checkpoint)
    return path.with_suffix(".json")


def remove_stale_temporaries(checkpoint: str | Path) -> list[Path]:
    """Delete temporary files a killed run left beside ``checkpoint``, its record and training state.

    Writes are atomic (temporary file, then rename), so a SIGKILL mid-write leaves the old file intact
    plus an orphaned ``.NAME.XXXX.tmp`` that nothing reads; a rerun clears them so they do not pile up.
    """
    removed = []
    for target in (Path(checkpoint), record_path(checkpoint), train_state_path(checkpoint)):
        for tmp in target.parent.glob(f".{target.name}.*.tmp"):
            try:
                tmp.unlink()
                removed.append(tmp)
            except FileNotFoundError:
                pass
    return removed


def save_torch(path: str | Path, payload: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_torch(path: str | Path) -> dict[str, Any]:
    """``torch.load(weights_only=True)``, with errors that name the file and refuse pickled code."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # The weights-only unpickler raises this type for anything that is not plain data (a GLOBAL,
        # a REDUCE to os.system, an opcode it does not allow); its wording changes between torch
        # versions, so the type and the file's structure decide and the wording is only quoted.
        if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; anything else is not one of ours
            raise InputError(path, "cannot read as a torch checkpoint (not a file written by torch.save, or damaged)") from None
        lines = [line.strip() for line in str(exc).splitlines() if "GLOBAL" in line or "Unsupported" in line]
        detail = f" ({lines[-1].split(' was not')[0]})" if lines else ""
        raise InputError(path, f"refused: loading it would need pickled code, which gan-eval never runs{detail}") from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise InputError(path, f"cannot read as a torch checkpoint: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    if not isinstance(payload, dict):
        raise InputError(path, f"expected a dict checkpoint, found {type(payload).__name__}")
    return payload


def save_generator(path: str | Path, generator: Generator, record: dict[str, Any]) -> None:
    """Write ``path`` (weights + record) and ``path.json`` (the record), both atomically."""
    state = {k: v.detach().cpu() for k, v in generator.state_dict().items()}
    save_torch(path, {"format": CHECKPOINT_FORMAT, "record": record, "generator": state})
    atomic_write_text(record_path(path), json.dumps(record, indent=2) + "\n")


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    payload = load_torch(path)
    if payload.get("format") != CHECKPOINT_FORMAT or "generator" not in payload or "record" not in payload:
        raise InputError(path, f"not a gan-eval generator checkpoint (expected format {CHECKPOINT_FORMAT!r}; "
                               "write one with 'gan-eval train', or use torchscript:/callable: for other generators)")
    return payload


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> tuple[Generator, dict[str, Any]]:
    """The generator (in eval mode) and its record."""
    payload = read_checkpoint(path)
    record = payload["record"]
    try:
        generator = Generator(Architecture(**record["architecture"]))
        generator.load_state_dict(payload["generator"])
    except (KeyError, TypeError, RuntimeError) as exc:
        raise InputError(path, f"checkpoint does not match its architecture record: {exc}") from None
    return generator.to(device).eval(), record


file_sha256 = sha256_file  # the checkpoint hash recorded for a student's teacher
