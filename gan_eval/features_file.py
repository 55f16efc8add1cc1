"""Feature files (``gan-eval features SPEC -o feats.npz``): an extractor's outputs for every image
of a source, with what identifies them, so that other tools can check our numbers and a run can
score them again (the ``features:`` source) without the network.

Format ``gan-eval-features/1``: an ``.npz`` with ``features`` (N×D float32), ``logits`` when the
extractor gives them, ``labels`` (int64) when the source knows them, ``names`` (each item's name, e.g. a
folder's relative paths) when it has them, and ``__header__`` (JSON as
uint8): the extractor's identity and the source's spec, fingerprint and count. Read with
``allow_pickle=False``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .errors import InputError
from .reading import load_npz

FORMAT = "gan-eval-features/1"
HEADER = "__header__"
OUTPUTS = ("features", "logits")


def features_bytes(
    outputs: Mapping[str, np.ndarray],
    *,
    extractor: dict[str, Any],
    source: dict[str, Any],
    labels: np.ndarray | None = None,
    names: list[str] | None = None,
) -> bytes:
    header = {"format": FORMAT, "extractor": extractor, "source": source}
    arrays = {HEADER: np.frombuffer(json.dumps(header, default=str).encode(), dtype=np.uint8), **{k: np.asarray(v) for k, v in outputs.items()}}
    if labels is not None:
        arrays["labels"] = np.asarray(labels, dtype=np.int64)
    if names is not None and len(names) == len(outputs["features"]):
        arrays["names"] = np.array(names, dtype=str)  # a unicode array: readable without pickle
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub types the first keyword only
    return buffer.getvalue()


def read_features(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray], np.ndarray | None]:
    """(header, outputs, labels) of a feature file, checked: an InputError names the file otherwise."""
    path = Path(path)
    contents = load_npz(path, "feature")
    try:
        header = json.loads(contents.pop(HEADER).tobytes().decode())
    except (KeyError, UnicodeDecodeError, ValueError, RecursionError):
        raise InputError(path, f"not a gan-eval feature file (no readable {HEADER}; write one with 'gan-eval features')") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT or not isinstance(header.get("extractor"), dict):
        raise InputError(path, f"not a {FORMAT} file")
    outputs = {k: v for k, v in contents.items() if k in OUTPUTS}
    unknown = set(contents) - set(OUTPUTS) - {"labels", "names"}
    if "features" not in outputs or unknown:
        raise InputError(path, f"a feature file holds features (and optionally logits, labels); found {sorted(contents)}")
    rows = {k: v.shape[0] if v.ndim else -1 for k, v in {**outputs, **({"labels": contents["labels"]} if "labels" in contents else {})}.items()}
    if len(set(rows.values())) != 1 or outputs["features"].ndim != 2 or not np.all(np.isfinite(outputs["features"])):
        raise InputError(path, f"arrays must be finite N×D rows of one N, got shapes { ({k: v.shape for k, v in contents.items()}) }")
    return header, outputs, contents.get("labels")
