"""Generator checkpoints and resumable training states: plain tensors and JSON-able records only.

``NAME.pt`` holds ``{"format", "record", "generator"}`` plus ``"generator_ema"`` when the run kept an
exponential moving average of the weights (``--ema``); the record also lands in ``NAME.json`` for
people. ``NAME.train.pt`` holds everything needed to resume (discriminator, optimisers, step).
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
    """Delete temporary files a killed run left beside ``checkpoint``, its record, training state,
    metrics log and best checkpoint.

    Writes are atomic (temporary file, then rename), so a SIGKILL mid-write leaves the old file intact
    plus an orphaned ``.NAME.XXXX.tmp`` that nothing reads; a rerun clears them so they do not pile up.
    """
    removed = []
    path = Path(checkpoint)
    logs = (path.with_name(path.stem + ".log.csv"), path.with_name(path.stem + ".best.pt"), path.with_name(path.stem + ".best.json"))
    for target in (path, record_path(checkpoint), train_state_path(checkpoint), *logs):
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


#: which weights ``load_generator`` returns: the moving average when the checkpoint has one, or either
WEIGHTS = ("auto", "ema", "raw")


def _cpu_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu() for k, v in module.state_dict().items()}


def save_generator(path: str | Path, generator: Generator, record: dict[str, Any], ema: Generator | None = None) -> None:
    """Write ``path`` (raw weights, the EMA weights if any, and the record) and ``path.json`` (the
    record), both atomically."""
    payload = {"format": CHECKPOINT_FORMAT, "record": record, "generator": _cpu_state(generator)}
    if ema is not None:
        payload["generator_ema"] = _cpu_state(ema)
    save_torch(path, payload)
    atomic_write_text(record_path(path), json.dumps(record, indent=2) + "\n")


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    payload = load_torch(path)
    if payload.get("format") != CHECKPOINT_FORMAT or "generator" not in payload or "record" not in payload:
        raise InputError(
            path,
            f"not a gan-eval generator checkpoint (expected format {CHECKPOINT_FORMAT!r}; "
            "write one with 'gan-eval train', or use torchscript:/callable: for other generators)",
        )
    return payload


def select_weights(path: str | Path, payload: dict[str, Any], weights: str = "auto") -> tuple[str, dict[str, torch.Tensor]]:
    """(``"ema"`` or ``"raw"``, state dict): ``auto`` takes the moving average when there is one."""
    if weights not in WEIGHTS:
        raise InputError(path, f"weights={weights!r}: choose {', '.join(WEIGHTS)}")
    has_ema = isinstance(payload.get("generator_ema"), dict)
    if weights == "ema" and not has_ema:
        raise InputError(path, "weights=ema: this checkpoint has no EMA weights (train with --ema DECAY), use weights=raw")
    chosen = "ema" if has_ema and weights != "raw" else "raw"
    return chosen, payload["generator_ema" if chosen == "ema" else "generator"]


def load_generator(path: str | Path, device: str | torch.device = "cpu", weights: str = "auto") -> tuple[Generator, dict[str, Any]]:
    """The generator (in eval mode) and its record. ``weights``: ``auto`` (EMA when the checkpoint has
    it, else raw), ``ema`` or ``raw``; the record's ``"weights"`` key says which were loaded."""
    payload = read_checkpoint(path)
    record = dict(payload["record"])
    chosen, state = select_weights(path, payload, weights)
    record["weights"] = chosen
    try:
        generator = Generator(Architecture(**record["architecture"]))
        generator.load_state_dict(state)
    except (KeyError, TypeError, RuntimeError) as exc:
        raise InputError(path, f"checkpoint does not match its architecture record: {exc}") from None
    return generator.to(device).eval(), record


file_sha256 = sha256_file  # the checkpoint hash recorded for a student's teacher
