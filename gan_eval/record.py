"""The run record: a versioned JSON document with everything needed to re-run and check a score."""

from __future__ import annotations

import datetime as dt
import json
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from .atomic import atomic_write_text
from .errors import InputError

SCHEMA = "gan-eval-record/1"


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def environment() -> dict[str, Any]:
    """Versions of everything that can change a number."""
    versions: dict[str, str | None] = {"python": platform.python_version(), "platform": platform.platform()}
    for dist in ("gan-eval", "torch", "torchvision", "numpy", "scipy", "opencv-python-headless", "opencv-python", "pluggy"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    try:
        import torch

        versions["cuda"] = torch.version.cuda
        versions["cuda_device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception:  # pragma: no cover - torch is a dependency
        pass
    return versions


def build_record(
    *,
    config: dict[str, Any],
    outcome: Any,
    plugins: list[dict[str, Any]],
    started: str,
    command: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    record = {
        "schema": SCHEMA,
        "command": command if command is not None else sys.argv,
        "config": config,
        "inputs": outcome.inputs,
        "extractor": outcome.extractor,
        "extractors": getattr(outcome, "extractors", None) or ({outcome.extractor["extractor"]: outcome.extractor} if outcome.extractor else {}),
        "results": outcome.results,
        "warnings": outcome.warnings,
        "device": outcome.device,
        "previews": preview_entries(getattr(outcome, "previews", None) or {}),
        "environment": environment(),
        "plugins": plugins,
        "started": started,
        "finished": now(),
    }
    if extra:
        record.update(extra)
    return record


def preview_entries(previews: dict[str, Any]) -> dict[str, Any]:
    """Each input's first images as a small base64 PNG grid (the report's sample grids)."""
    from .report.grid import preview_entry

    entries = {name: preview_entry(images) for name, images in previews.items()}
    return {name: entry for name, entry in entries.items() if entry is not None}


def record_text(record: dict[str, Any]) -> str:
    """The record as the JSON text written to files."""
    return json.dumps(record, indent=2, sort_keys=False, allow_nan=False) + "\n"


def write_record(path: str | Path, record: dict[str, Any]) -> None:
    atomic_write_text(path, record_text(record))


def read_record(path: str | Path) -> dict[str, Any]:
    return read_schema_json(path, SCHEMA, "run record")


def read_schema_json(path: str | Path, schema: str, what: str, required_lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """A JSON object whose ``"schema"`` is ``schema`` (and whose ``required_lists`` keys hold lists),
    or an InputError naming the file and saying what it is not."""
    path = Path(path)
    try:
        if not path.is_file():
            raise InputError(path, "no such file" if not path.exists() else "not a regular file")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(path, f"not a JSON {what} ({exc})") from None
    except RecursionError:
        raise InputError(path, f"not a gan-eval {what}: its JSON is nested too deeply to read") from None
    lists_ok = isinstance(data, dict) and all(isinstance(data.get(key), list) for key in required_lists)
    if not lists_ok or data.get("schema") != schema:
        needs = "".join(f" and a {key!r} list" for key in required_lists)
        raise InputError(path, f"not a gan-eval {what} (expected schema {schema!r}{needs})")
    return data
