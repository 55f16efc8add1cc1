"""Reference statistics files (``.npz``): gan-eval's own, and pytorch-fid's ``mu``/``sigma`` files.

A gan-eval stats file holds, for each bound metric (``fid@inception``), its reference
:class:`~gan_eval.state.State` as ``KEY/ACCUMULATOR`` arrays, a JSON header in ``__header__`` (uint8
bytes: format, gan-eval version, the source's spec/fingerprint/count, each metric's description,
state layout and extractor identity) and whatever top-level arrays a metric adds for other tools
(:meth:`Metric.stats_arrays`: FID writes pytorch-fid's ``mu`` and ``sigma``, so pytorch-fid reads the
file too). A file without a header is another tool's: a metric that recognises its arrays
(:meth:`Metric.state_from_foreign_stats`, FID for pytorch-fid's ``--save-stats``) reads it. This module
knows no metric's layout: each metric checks the states it is given (:meth:`Metric.check_state`).
Files are read with ``allow_pickle=False``; wrong keys or shapes are an
:class:`~gan_eval.errors.InputError` naming the file.

The reference cache (:mod:`gan_eval.cache`) stores its entries in this same format, so a cache entry
is also a valid ``--ref stats:FILE``.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .version import __version__
from .atomic import atomic_write_bytes
from .engine import FEATURE_INPUTS, Bound, PassResult
from .errors import GanEvalError, InputError, UsageError
from .reading import load_npz
from .hashing import sha256_file
from .source import Skip
from .state import State

FORMAT = "gan-eval-stats/2"
#: Earlier format (one extractor per file, entries keyed by bare metric name): still read.
FORMAT_V1 = "gan-eval-stats/1"
HEADER = "__header__"
PREFIX = "stats:"
#: Most nesting a stats header may have (a hostile file must not exhaust the stack).
MAX_HEADER_DEPTH = 32


@dataclass
class StatsFile:
    """A loaded stats file: its header, each entry's accumulator arrays, and top-level arrays."""

    path: Path
    header: dict[str, Any]
    arrays: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    #: Arrays outside any entry: other tools' views (mu/sigma), or a whole foreign file's contents.
    loose: dict[str, np.ndarray] = field(default_factory=dict)
    #: True for a file without a gan-eval header (e.g. pytorch-fid's ``mu``/``sigma``).
    foreign: bool = False

    @property
    def count(self) -> int | None:
        return self.header.get("source", {}).get("count")

    @property
    def entries(self) -> dict[str, dict[str, Any]]:
        return self.header.get("metrics", {})


# --- writing --------------------------------------------------------------------------------------
def stats_bytes(
    states: Mapping[str, State],
    bound: Sequence[Bound],
    *,
    source: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> bytes:
    """The ``.npz`` bytes of a stats file for ``states`` (one per bound metric, by key)."""
    header = {
        "format": FORMAT,
        "gan_eval_version": __version__,
        "source": source,
        "metrics": {
            b.key: {
                **b.metric.describe(),
                "state_params": b.metric.state_params_values(),
                "state_spec": dict(b.metric.state_spec()),
                "extractor": b.extractor.identity() if b.extractor is not None else None,
            }
            for b in bound
        },
        **(extra or {}),
    }
    arrays: dict[str, np.ndarray] = {HEADER: np.frombuffer(json.dumps(header, default=str).encode(), dtype=np.uint8)}
    for b in bound:
        arrays.update({f"{b.key}/{k}": v for k, v in states[b.key].to_arrays().items()})
    for b in bound:  # other tools' views; the first metric to claim a name keeps it
        for name, value in b.metric.stats_arrays(states[b.key]).items():
            if "/" not in name and name != HEADER and name not in arrays:
                arrays[name] = value
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub types the first keyword only
    return buffer.getvalue()


def write_stats(path: str | Path, states: Mapping[str, State], bound: Sequence[Bound], **kw: Any) -> None:
    """Write a stats file atomically (see :func:`stats_bytes` for the arguments)."""
    atomic_write_bytes(path, stats_bytes(states, bound, **kw))


# --- reading --------------------------------------------------------------------------------------
def stats_path(spec: str) -> Path | None:
    """The file a ``--ref`` spec names when it is a stats file (``stats:FILE``, or an ``.npz`` that is one)."""
    if spec.startswith(PREFIX):
        return Path(spec[len(PREFIX) :])
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
    """Load a stats file and check its structure (each metric checks its own arrays when used)."""
    path = Path(path)
    contents = load_npz(path, "stats")
    if HEADER not in contents:
        if not contents:
            raise InputError(path, "not a stats file: it holds no arrays")
        return StatsFile(path, {"format": "foreign", "source": {}, "metrics": {}}, {}, contents, foreign=True)
    header = _read_header(path, contents.pop(HEADER))
    described = header["metrics"]
    arrays: dict[str, dict[str, np.ndarray]] = {key: {} for key in described}
    loose: dict[str, np.ndarray] = {}
    renamed = {old: new for new, old in header.get("v1_keys", {}).items()}
    for name, value in contents.items():
        key, sep, accumulator = name.partition("/")
        key = renamed.get(key, key)
        if not sep:
            loose[name] = value
            continue
        spec = described.get(key, {}).get("state_spec", {})
        base = accumulator.removeprefix("blocks/")
        if key not in arrays or not isinstance(spec, dict) or base not in spec:
            raise InputError(path, f"unexpected array {name!r} in stats file (metrics in its header: {', '.join(described)})")
        arrays[key][accumulator] = value
    return StatsFile(path, header, arrays, loose)


def _read_header(path: Path, raw: np.ndarray) -> dict[str, Any]:
    try:
        text = raw.tobytes().decode()
        if _nesting(text) > MAX_HEADER_DEPTH:
            raise ValueError(f"nested deeper than {MAX_HEADER_DEPTH} levels")
        header = json.loads(text)
    except (UnicodeDecodeError, ValueError, AttributeError, RecursionError) as exc:
        raise InputError(path, f"stats header is unreadable: {exc}") from None
    if not isinstance(header, dict) or header.get("format") not in (FORMAT, FORMAT_V1):
        raise InputError(path, f"unsupported stats format {header.get('format') if isinstance(header, dict) else header!r} (expected {FORMAT})")
    described = header.get("metrics")
    if not isinstance(described, dict) or not described or not all(isinstance(v, dict) for v in described.values()):
        raise InputError(path, "stats header lists no metrics")
    source = header.get("source", {})
    if not isinstance(source, dict) or not isinstance(source.get("count", 0), int) or source.get("count", 1) <= 0:
        raise InputError(
            path, f"stats header: the source's image count must be a positive integer, got {source.get('count') if isinstance(source, dict) else source!r}"
        )
    if header["format"] == FORMAT_V1:  # one extractor for the file, entries keyed by bare name
        extractor = header.get("extractor")
        name = extractor.get("extractor") if isinstance(extractor, dict) else None
        header["metrics"] = {
            (f"{key}@{name}" if name and set(entry.get("requires", [])) & FEATURE_INPUTS else key): {
                **entry,
                "extractor": extractor if name and set(entry.get("requires", [])) & FEATURE_INPUTS else None,
            }
            for key, entry in described.items()
        }
        header["v1_keys"] = {new: old for new, old in zip(header["metrics"], described)}
    return header


def _nesting(text: str) -> int:
    """Deepest bracket nesting of a JSON text (strings skipped), without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            escaped = not escaped and char == "\\"
            if char == '"' and not escaped:
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def recorded_extractor(stats: StatsFile) -> str | None:
    """The one extractor a gan-eval stats file was made with (None: none, several, or a foreign file)."""
    names = {entry["extractor"].get("extractor") for entry in stats.entries.values() if isinstance(entry.get("extractor"), dict)}
    return names.pop() if len(names) == 1 else None


# --- use as a reference ---------------------------------------------------------------------------
def reference_states(stats: StatsFile, bound: Sequence[Bound], *, drop_missing: bool = False) -> tuple[dict[str, State], list[str]]:
    """Each bound metric's reference State from ``stats``, checked against the run; also notes.

    A metric the file lacks is an error when it needs a reference and was asked for explicitly; with
    ``drop_missing`` (the default metrics) it is left out with a note. Other parameters, state
    version or extractor identity than the file's are a :class:`UsageError`.
    """
    notes: list[str] = []
    states: dict[str, State] = {}
    absent: list[Bound] = []
    for b in bound:
        state = _foreign_state(stats, b) if stats.foreign else _own_state(stats, b)
        if state is None:
            absent.append(b)
        else:
            states[b.key] = state
    if stats.foreign and not states:
        raise InputError(
            stats.path,
            f"not a stats file: expected a gan-eval header, or another tool's statistics that a selected metric reads "
            f"(fid: exactly the arrays mu and sigma); found {', '.join(sorted(stats.loose))}",
        )
    required = [b.key for b in absent if b.metric.reference == "required"]
    held = ", ".join(stats.entries) if not stats.foreign else f"the arrays {', '.join(sorted(stats.loose))}"
    if required and not drop_missing and stats.foreign:
        served = ", ".join(sorted({b.metric.name for b in bound if b.key in states}))
        raise UsageError(
            f"{stats.path} is another tool's statistics file ({held}): it serves {served} only, not "
            f"{', '.join(sorted({b.metric.name for b in absent if b.key in required}))} (select -m {served}, or make a gan-eval stats file with 'gan-eval stats')"
        )
    if required and not drop_missing:
        how = (
            "select -m fid, or make a gan-eval stats file with 'gan-eval stats'"
            if stats.foreign
            else "re-create it with 'gan-eval stats ... -m NAME' or drop those metrics"
        )
        raise UsageError(f"{stats.path} holds reference statistics for {held} but not for {', '.join(required)} ({how})")
    if required:
        notes.append(f"{stats.path} holds reference statistics for {held} only: {', '.join(required)} left out (they need a reference)")
    optional = [b.key for b in absent if b.metric.reference != "required"]
    if optional:
        notes.append(f"{stats.path} holds no reference statistics for {', '.join(optional)}: reported without reference values")
    if stats.foreign and states:
        notes.append(
            f"reference statistics from {stats.path}, a file of another tool: its extractor, preprocessing and image count are not recorded; they must match this run's"
        )
    return states, notes


def _own_state(stats: StatsFile, b: Bound) -> State | None:
    entry = stats.entries.get(b.key)
    if entry is None:
        return None
    expected = {"state_params": b.metric.state_params_values(), "state_version": b.metric.state_version}
    for field_name, value in expected.items():
        if entry.get(field_name) != value:
            raise UsageError(
                f"{stats.path}: {b.key} was recorded with {field_name} {entry.get(field_name)!r}, this run uses {value!r} (re-create the file with the same -O options)"
            )
    identity = b.extractor.identity() if b.extractor is not None else None
    if b.metric.requires & FEATURE_INPUTS and comparable(entry.get("extractor")) != comparable(identity):
        raise UsageError(
            f"{stats.path} was made with extractor {summary(entry.get('extractor'))}, this run uses {summary(identity)}: "
            "features from different extractors, weights or preprocessing cannot be compared (pass the same --extractor and -O options)"
        )
    return b.metric.state_from_arrays(stats.arrays.get(b.key, {}), f"{stats.path} ({b.key})")


def _foreign_state(stats: StatsFile, b: Bound) -> State | None:
    if not b.metric.uses_reference():
        return None
    try:
        return type(b.metric).state_from_foreign_stats(stats.loose, str(stats.path))
    except GanEvalError:
        raise
    except Exception as exc:
        raise InputError(stats.path, f"{b.metric.name} cannot read it: {type(exc).__name__}: {exc}") from None


def reference_pass(stats: StatsFile, bound: Sequence[Bound], notes: list[str], *, drop_missing: bool = False) -> PassResult:
    """A :class:`PassResult` for the reference, read from a stats file instead of computed."""
    states, new_notes = reference_states(stats, bound, drop_missing=drop_missing)
    if not states:
        raise UsageError(f"{stats.path} holds reference statistics for none of the selected metrics ({', '.join(b.key for b in bound)})")
    notes.extend(n for n in new_notes if n not in notes)
    source = stats.header.get("source", {})
    skipped = [Skip(**s) for s in source.get("skipped", []) if isinstance(s, dict) and set(s) == {"item", "reason"}]
    return PassResult(states, int(source.get("count") or 0), skipped)


def input_record(stats: StatsFile, result: PassResult | None) -> dict[str, Any]:
    """What the run record says about a reference given as a stats file."""
    source = stats.header.get("source", {})
    return {
        "kind": "stats",
        "spec": f"{PREFIX}{stats.path}",
        "format": stats.header.get("format"),
        "file_sha256": sha256_file(stats.path),
        # the source's fingerprint under another name: "fingerprint" is what 'verify' re-opens as a source
        "made_from": source.get("spec"),
        "source_fingerprint": source.get("fingerprint"),
        "count": source.get("count"),
        "skipped": source.get("skipped", []),
        "used": result is not None,
    }


def comparable(identity: dict[str, Any] | None) -> str:
    return json.dumps(identity, sort_keys=True, default=str)


def summary(identity: dict[str, Any] | None) -> str:
    if not identity:
        return "none"
    parts = [str(identity.get("extractor"))]
    for key in ("profile", "weights_sha256"):
        if identity.get(key):
            parts.append(f"{key}={str(identity[key])[:16]}")
    return "(" + ", ".join(parts) + ")"
