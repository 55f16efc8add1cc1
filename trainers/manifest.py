"""The sweep manifest: one JSON file listing a sweep's checkpoints and, once scored, their run records.

Format (``gan-eval-sweep/1``; paths are relative to the manifest)::

    {"schema": "gan-eval-sweep/1", "sweep": "teachers" | "students", "dataset": "mnist5k",
     "teacher": "teacher-d32.pt" | null,
     "runs": [{"label": "student-d8-mse", "checkpoint": "student-d8-mse.pt", "role": "student",
               "d": 8, "loss": "mse", "lambda": null, "parameters": 58096, "teacher_parameters": 312256,
               "compression_ratio": 5.37, "steps": 1000,
               "record": "records/student-d8-mse.json"}]}

``record`` appears once ``gan-eval sweep-score`` has scored the checkpoint; ``gan-eval report
sweep.json`` then reads the records through it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gan_eval.atomic import atomic_write_text
from gan_eval.errors import InputError
from gan_eval.record import read_schema_json

SCHEMA = "gan-eval-sweep/1"
ENTRY_FIELDS = (
    "role",
    "d",
    "arch",
    "loss",
    "lambda",
    "discriminator_init",
    "ema",
    "parameters",
    "teacher_parameters",
    "compression_ratio",
    "steps",
    "dataset",
)


def new_manifest(sweep: str, dataset: str | None, teacher: str | None) -> dict[str, Any]:
    return {"schema": SCHEMA, "sweep": sweep, "dataset": dataset, "teacher": teacher, "runs": []}


def entry_for(manifest_path: Path, checkpoint: Path, record: dict[str, Any]) -> dict[str, Any]:
    entry = {"label": checkpoint.stem, "checkpoint": relative(checkpoint, manifest_path)}
    entry.update({key: record.get(key) for key in ENTRY_FIELDS})
    return entry


def relative(path: Path, manifest_path: Path) -> str:
    return os.path.relpath(Path(path).resolve(), Path(manifest_path).resolve().parent)


def upsert(manifest: dict[str, Any], entry: dict[str, Any]) -> None:
    """Add or replace the entry for the same checkpoint (keeping its record if it has one)."""
    for index, old in enumerate(manifest["runs"]):
        if old.get("checkpoint") == entry["checkpoint"]:
            manifest["runs"][index] = {**old, **entry}
            return
    manifest["runs"].append(entry)


def write_manifest(path: str | Path, manifest: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(manifest, indent=2) + "\n")


def read_manifest(path: str | Path) -> dict[str, Any]:
    return read_schema_json(path, SCHEMA, "sweep manifest", required_lists=("runs",))


def manifest_for_folder(folder: Path) -> tuple[Path, dict[str, Any]]:
    """A manifest listing every generator checkpoint in a folder (written as FOLDER/sweep.json)."""
    from .checkpoint import read_checkpoint

    path = folder / "sweep.json"
    manifest = read_manifest(path) if path.is_file() else new_manifest("folder", None, None)
    checkpoints = sorted(p for p in folder.glob("*.pt") if not p.name.endswith(".train.pt"))
    if not checkpoints:
        raise InputError(folder, "holds no generator checkpoints (*.pt)")
    for checkpoint in checkpoints:
        upsert(manifest, entry_for(path, checkpoint, read_checkpoint(checkpoint)["record"]))
    return path, manifest
