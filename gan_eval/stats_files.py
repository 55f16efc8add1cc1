"""Reference statistics files (``.npz``): gan-eval's own, and pytorch-fid's ``mu``/``sigma`` files.

A gan-eval stats file holds, for each metric, its reference :class:`~gan_eval.state.State` as
``METRIC/ACCUMULATOR`` arrays, a JSON header in ``__header__`` (uint8 bytes: format, gan-eval
version, the source's spec/fingerprint/count, the extractor's identity, each metric's description
and state layout) and, when FID is among the metrics, ``mu`` and ``sigma`` (float64) so that
pytorch-fid reads it too. A file with exactly the arrays ``mu`` and ``sigma`` (pytorch-fid's
``--save-stats``) serves FID only. Files are read with ``allow_pickle=False``; wrong keys or shapes
are an :class:`~gan_eval.errors.InputError` naming the file.

The reference cache (:mod:`gan_eval.cache`) stores its entries in this same format, so a cache entry
is also a valid ``--ref stats:FILE``.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from . import __version__
from .atomic import atomic_write_bytes
from .engine import PassResult
from .errors import InputError, UsageError
from .metric import Metric
from .source import Skip
from .state import State

FORMAT = "gan-eval-stats/1"
HEADER = "__header__"
PREFIX = "stats:"


@dataclass
class StatsFile:
    """A loaded stats file: its header and each metric's accumulator arrays."""

    path: Path
    header: dict[str, Any]
    arrays: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    #: True for a pytorch-fid ``mu``/``sigma`` file (FID only, extractor not recorded).
    pytorch_fid: bool = False

    @property
    def count(self) -> int | None:
        return self.header.get("source", {}).get("count")


# --- writing --------------------------------------------------------------------------------------
def stats_bytes(
    states: Mapping[str, State], metrics: list[Metric], *, source: dict[str, Any], extractor: dict[str, Any] | None,
    extra: dict[str, Any] | None = None,
) -> bytes:
    """The ``.npz`` bytes of a stats file for ``states`` (one per metric in ``metrics``)."""
    header = {
        "format": FORMAT,
        "gan_eval_version": __version__,
        "source": source,
        "extractor": extractor,
        "metrics": {
            m.name: {**m.describe(), "state_params": m.state_params_values(), "state_spec": dict(m.state_spec())} for m in metrics
        },
        **(extra or {}),
    }
    arrays: dict[str, np.ndarray] = {HEADER: np.frombuffer(json.dumps(header, default=str).encode(), dtype=np.uint8)}
    for metric in metrics:
        arrays.update({f"{metric.name}/{k}": v for k, v in states[metric.name].to_arrays().items()})
    if "fid" in states and any(m.name == "fid" for m in metrics):
        from gan_eval_plugins.fid import moments  # the pytorch-fid view of the FID state

        _, mu, sigma = moments(states["fid"], "reference")
        arrays["mu"], arrays["sigma"] = mu, sigma
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def write_stats(path: str | Path, states: Mapping[str, State], metrics: list[Metric], **kw: Any) -> None:
    """Write a stats file atomically (see :func:`stats_bytes` for the arguments)."""
    atomic_write_bytes(path, stats_bytes(states, metrics, **kw))


# --- reading --------------------------------------------------------------------------------------
def stats_path(spec: str) -> Path | None:
    """The file a ``--ref`` spec names when it is a stats file (``stats:FILE``, or an ``.npz`` that is one)."""
    if spec.startswith(PREFIX):
        return Path(spec[len(PREFIX):])
    path = Path(spec)
    if path.suffix.lower() == ".npz" and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as archive:
                keys = set(archive.files)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):
            return None  # not ours to judge: the array source reports it
        if HEADER in keys or keys == {"mu", "sigma"}:
            return path
    return None


def read_stats(path: str | Path) -> StatsFile:
    """Load and validate a stats file (gan-eval's or pytorch-fid's)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such stats file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            contents = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(path, f"cannot be read as a stats .npz file: {exc}") from None
    if HEADER not in contents:
        if set(contents) == {"mu", "sigma"}:
            mu, sigma = _check_mu_sigma(path, contents["mu"], contents["sigma"])
            return StatsFile(path, {"format": "pytorch-fid", "source": {}}, {"fid": {"mu": mu, "sigma": sigma}}, pytorch_fid=True)
        raise InputError(path, f"not a stats file: expected a gan-eval header or exactly the arrays mu and sigma, found {sorted(contents)}")
    try:
        header = json.loads(contents.pop(HEADER).tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError) as exc:
        raise InputError(path, f"stats header is unreadable: {exc}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise InputError(path, f"unsupported stats format {header.get('format') if isinstance(header, dict) else header!r} (expected {FORMAT})")
    described = header.get("metrics")
    if not isinstance(described, dict) or not described:
        raise InputError(path, "stats header lists no metrics")
    arrays: dict[str, dict[str, np.ndarray]] = {name: {} for name in described}
    for key, value in contents.items():
        if key in ("mu", "sigma"):
            continue
        metric, sep, accumulator = key.partition("/")
        if not sep or metric not in arrays or accumulator not in described[metric].get("state_spec", {}):
            raise InputError(path, f"unexpected array {key!r} in stats file (metrics in its header: {', '.join(described)})")
        arrays[metric][accumulator] = value
    if "mu" in contents or "sigma" in contents:
        _check_mu_sigma(path, contents.get("mu"), contents.get("sigma"))
    _check_builtin_shapes(path, arrays)
    return StatsFile(path, header, arrays)


#: Array ranks of the built-in metrics' accumulators (third-party layouts are checked by their metric).
_RANKS = {("fid", "count"): 0, ("fid", "sum"): 1, ("fid", "outer"): 2, ("kid", "features"): 2, ("pr", "features"): 2, ("is", "logits"): 2}


def _check_builtin_shapes(path: Path, arrays: Mapping[str, Mapping[str, np.ndarray]]) -> None:
    for (metric, name), rank in _RANKS.items():
        value = arrays.get(metric, {}).get(name)
        if value is not None and (value.ndim != rank or value.dtype.kind not in "fiu"):
            raise InputError(path, f"array {metric}/{name} must be a {rank}-d numeric array, got shape {value.shape} of {value.dtype}")
    fid = arrays.get("fid", {})
    if "sum" in fid and "outer" in fid and fid["outer"].shape != (fid["sum"].size, fid["sum"].size):
        raise InputError(path, f"fid/outer must be {fid['sum'].size}×{fid['sum'].size} to match fid/sum, got {fid['outer'].shape}")


def _check_mu_sigma(path: Path, mu: Any, sigma: Any) -> tuple[np.ndarray, np.ndarray]:
    if mu is None or sigma is None or mu.ndim != 1 or sigma.shape != (mu.size, mu.size) or mu.size == 0:
        shapes = (getattr(mu, "shape", None), getattr(sigma, "shape", None))
        raise InputError(path, f"mu must be a vector of length d and sigma d×d, got shapes {shapes}")
    if mu.dtype.kind != "f" or sigma.dtype.kind != "f":
        raise InputError(path, f"mu and sigma must be floating point, got {mu.dtype} and {sigma.dtype}")
    return mu.astype(np.float64), sigma.astype(np.float64)


# --- use as a reference ---------------------------------------------------------------------------
def reference_states(stats: StatsFile, metrics: list[Metric], extractor: dict[str, Any] | None) -> tuple[dict[str, State], list[str]]:
    """Each metric's reference State from ``stats``, checked against the run; also notes for the record.

    A metric missing from the file, recorded with other parameters or state version, or an extractor
    whose identity differs from the one the file was made with, is a :class:`UsageError`.
    """
    notes: list[str] = []
    absent = [m for m in metrics if m.name not in stats.arrays]
    missing = [m.name for m in absent if m.reference == "required"]
    if absent and not missing:
        notes.append(f"{stats.path} holds no reference statistics for {', '.join(m.name for m in absent)}: reported without reference values")
    metrics = [m for m in metrics if m.name in stats.arrays]
    if stats.pytorch_fid:
        others = missing
        if others:
            raise UsageError(f"{stats.path} is a pytorch-fid mu/sigma file: it serves fid only, not {', '.join(others)} (select -m fid, or make a gan-eval stats file with 'gan-eval stats')")
        from gan_eval_plugins.fid import state_from_moments

        notes.append(f"reference statistics from the pytorch-fid file {stats.path}: its extractor, preprocessing and image count are not recorded; they must match this run's")
        fid = stats.arrays["fid"]
        return {"fid": state_from_moments(fid["mu"], fid["sigma"])} if metrics else {}, notes
    if missing:
        raise UsageError(f"{stats.path} holds reference statistics for {', '.join(stats.arrays)} but not for {', '.join(missing)} (re-create it with 'gan-eval stats ... -m NAME' or drop those metrics)")
    states = {}
    for metric in metrics:
        recorded = stats.header["metrics"][metric.name]
        expected = {"state_params": metric.state_params_values(), "state_version": metric.state_version}
        for field_name, value in expected.items():
            if recorded.get(field_name) != value:
                raise UsageError(f"{stats.path}: {metric.name} was recorded with {field_name} {recorded.get(field_name)!r}, this run uses {value!r} (re-create the file with the same -O options)")
        if metric.requires & {"features", "logits"} and _comparable(stats.header.get("extractor")) != _comparable(extractor):
            raise UsageError(
                f"{stats.path} was made with extractor {_summary(stats.header.get('extractor'))}, this run uses {_summary(extractor)}: "
                "features from different extractors, weights or preprocessing cannot be compared (pass the same --extractor and -O options)"
            )
        try:
            states[metric.name] = State.from_arrays(metric.state_spec(), stats.arrays[metric.name])
        except (ValueError, KeyError) as exc:
            raise InputError(stats.path, f"arrays of {metric.name} do not fit its state layout: {exc}") from None
    return states, notes


def reference_pass(stats: StatsFile, metrics: list[Metric], extractor: dict[str, Any] | None, notes: list[str]) -> PassResult:
    """A :class:`PassResult` for the reference, read from a stats file instead of computed."""
    states, new_notes = reference_states(stats, metrics, extractor)
    notes.extend(n for n in new_notes if n not in notes)
    source = stats.header.get("source", {})
    skipped = [Skip(**s) for s in source.get("skipped", []) if isinstance(s, dict)]
    return PassResult(states, int(source.get("count") or 0), skipped)


def input_record(stats: StatsFile, result: PassResult | None) -> dict[str, Any]:
    """What the run record says about a reference given as a stats file."""
    source = stats.header.get("source", {})
    return {
        "kind": "stats", "spec": f"{PREFIX}{stats.path}", "format": stats.header.get("format"),
        "file_sha256": hashlib.sha256(stats.path.read_bytes()).hexdigest(),
        # the source's fingerprint under another name: "fingerprint" is what 'verify' re-opens as a source
        "made_from": source.get("spec"), "source_fingerprint": source.get("fingerprint"),
        "count": source.get("count"), "skipped": source.get("skipped", []), "used": result is not None,
    }


def _comparable(identity: dict[str, Any] | None) -> str:
    return json.dumps(identity, sort_keys=True, default=str)


def _summary(identity: dict[str, Any] | None) -> str:
    if not identity:
        return "none"
    parts = [str(identity.get("extractor"))]
    for key in ("profile", "weights_sha256"):
        if identity.get(key):
            parts.append(f"{key}={str(identity[key])[:16]}")
    return "(" + ", ".join(parts) + ")"
