"""The metrics log of a training run: rows of (step, losses, metric values, intervals), written as
CSV (always), to TensorBoard (when the ``tensorboard`` package is installed), and into the
checkpoint record as ``training_log`` so reports can draw training curves.

The record's shape (``gan-eval-training-log/1``; documented in docs/trainers.md)::

    {"format": "gan-eval-training-log/1", "csv": "run.log.csv",
     "evaluation": {"metrics": ["fid", "is"], "reference": "dataset:mnist5k:test", "num": 1000,
                    "seed": 0, "every": 200, "weights": "ema"} | null,
     "rows": [{"step": 200, "losses": {"d": 1.2, "g": 0.8},
               "values": {"fid@mnist-cnn.fid": 31.2}, "intervals": {"fid@mnist-cnn.fid": [29.8, 32.9]}}],
     "best": {"metric": "fid@mnist-cnn.fid", "mode": "min", "step": 400, "value": 18.1,
              "checkpoint": "run.best.pt"} | null}
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gan_eval.atomic import atomic_write_text
from gan_eval.errors import UsageError

LOG_FORMAT = "gan-eval-training-log/1"
#: the direction of each known metric's values; others need ``min:`` or ``max:`` in --keep-best
DIRECTIONS = {"fid": "min", "kid": "min", "cmmd": "min", "is": "max", "pr": "max", "prdc": "max"}


def csv_path(checkpoint: Path) -> Path:
    return checkpoint.with_name(checkpoint.stem + ".log.csv")


def best_path(checkpoint: Path) -> Path:
    return checkpoint.with_name(checkpoint.stem + ".best.pt")


@dataclass(frozen=True)
class BestRule:
    """Which logged value picks the best checkpoint: ``fid``, ``is``, a flat key
    (``pr@mnist-cnn.recall``), optionally prefixed ``min:`` or ``max:``."""

    text: str

    @property
    def name(self) -> str:
        return self.text.split(":", 1)[1] if self.text.startswith(("min:", "max:")) else self.text

    def key(self, values: dict[str, float]) -> str:
        name = self.name
        if name in values:
            return name
        metric = name.split("@")[0].split(".")[0]
        own = [k for k in values if k.split("@")[0] == metric]
        for candidates in ([k for k in own if k.endswith(f".{metric}")], [k for k in own if k.endswith(".mean")], own):
            if len(candidates) == 1:
                return candidates[0]
        raise UsageError(
            f"--keep-best {self.text}: no single logged value matches (logged: {', '.join(sorted(values)) or 'none'}); "
            "name one, e.g. --keep-best fid@mnist-cnn.fid"
        )

    def mode(self) -> str:
        if self.text.startswith(("min:", "max:")):
            return self.text[:3]
        metric = self.name.split("@")[0].split(".")[0]
        if metric not in DIRECTIONS:
            raise UsageError(f"--keep-best {self.text}: say whether lower or higher is better, e.g. --keep-best min:{self.name}")
        return DIRECTIONS[metric]

    def improves(self, value: float, best: float | None) -> bool:
        if best is None:
            return True
        return value < best if self.mode() == "min" else value > best


def row(step: int, losses: dict[str, float], values: dict[str, float] | None = None, intervals: dict[str, tuple[float, float]] | None = None) -> dict[str, Any]:
    return {
        "step": int(step),
        "losses": dict(losses),
        "values": dict(values or {}),
        "intervals": {k: [float(v[0]), float(v[1])] for k, v in (intervals or {}).items()},
    }


def columns(rows: list[dict[str, Any]]) -> list[str]:
    """``step``, the losses, then each metric value followed by its interval bounds when it has one."""
    ordered: dict[str, None] = {"step": None}
    for entry in rows:
        for name in entry["losses"]:
            ordered[f"loss_{name}"] = None
    for entry in rows:
        for key in entry["values"]:
            ordered[key] = None
            if key in entry["intervals"]:
                ordered[f"{key}.low"] = None
                ordered[f"{key}.high"] = None
    return list(ordered)


def to_csv(rows: list[dict[str, Any]]) -> str:
    header = columns(rows)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    for entry in rows:
        flat: dict[str, Any] = {"step": entry["step"]}
        flat.update({f"loss_{k}": repr(float(v)) for k, v in entry["losses"].items()})
        flat.update({k: repr(float(v)) for k, v in entry["values"].items()})
        for key, (low, high) in entry["intervals"].items():
            flat[f"{key}.low"], flat[f"{key}.high"] = repr(low), repr(high)
        writer.writerow(flat)
    return buffer.getvalue()


def write_csv(checkpoint: Path, rows: list[dict[str, Any]]) -> Path:
    path = csv_path(checkpoint)
    atomic_write_text(path, to_csv(rows))
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


class TensorBoardLog:
    """Scalars under ``NAME.tb/`` when ``tensorboard`` is installed; otherwise nothing (``enabled``
    is False). A resumed run purges events after its resume step, so curves never double back."""

    def __init__(self, checkpoint: Path, resume_step: int):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            self.writer = None
            return
        self.writer = SummaryWriter(str(checkpoint.with_name(checkpoint.stem + ".tb")), purge_step=resume_step or None)

    @property
    def enabled(self) -> bool:
        return self.writer is not None

    def add(self, entry: dict[str, Any]) -> None:
        if self.writer is None:
            return
        for name, value in entry["losses"].items():
            self.writer.add_scalar(f"loss/{name}", value, entry["step"])
        for key, value in entry["values"].items():
            self.writer.add_scalar(key, value, entry["step"])
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def record_entry(checkpoint: Path, rows: list[dict[str, Any]], evaluation: dict[str, Any] | None, best: dict[str, Any] | None) -> dict[str, Any]:
    """The ``training_log`` value of the checkpoint record (paths relative to the checkpoint)."""
    return {
        "format": LOG_FORMAT,
        "csv": csv_path(checkpoint).name,
        "evaluation": evaluation,
        "rows": rows,
        "best": dict(best, checkpoint=best_path(checkpoint).name) if best else None,
    }
