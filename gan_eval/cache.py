"""On-disk cache of reference states: one reference, many generators, one pass.

Each metric's reference State is stored in its own entry (a gan-eval stats file, see
:mod:`gan_eval.stats_files`) under ``<cache dir>/reference/<key>.npz``, where the key is the SHA-256
of everything that determines that state: the source's content fingerprint, the extractor's identity
(weights hash, preprocessing profile, parameters; None for metrics that read raw images), the
metric's name, parameters and ``state_version``, and the gan-eval version. Change any part and the
entry is simply not found. The cache directory is ``platformdirs.user_cache_dir("gan-eval")``, or
``$GAN_EVAL_CACHE_DIR``. Writes are atomic; an unreadable or inconsistent entry is ignored with a
note, recomputed and replaced. A process that has to compute a reference holds an exclusive lock on
``reference/<fingerprint>.lock`` meanwhile: a second process scoring against the same reference
waits for it and then reads the stored entries instead of computing them again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from .version import __version__
from .engine import FEATURE_INPUTS, Bound, PassResult
from .errors import GanEvalError
from .metric import Metric
from .atomic import atomic_write_bytes
from .source import Skip, Source
from .state import State
from .stats_files import read_stats, stats_bytes

CACHE_DIR_ENV = "GAN_EVAL_CACHE_DIR"

#: Part of every key: raised when stored states change meaning. 2: rows of states kept with bootstrap
#: blocks are in source order (they were in block order, which changed IS and KID with --bootstrap).
ENTRY_LAYOUT = 2


def cache_dir() -> Path:
    """Where reference states are cached (``$GAN_EVAL_CACHE_DIR`` or the user cache directory)."""
    configured = os.environ.get(CACHE_DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("gan-eval"))


def entry_key(fingerprint: str, extractor: dict[str, Any] | None, metric: Metric, blocks: int = 0) -> str:
    """The cache key of one metric's reference state (the extractor's identity when it uses one, and
    the number of bootstrap blocks the state keeps)."""
    described = metric.describe()
    parts = {
        "blocks": blocks,
        "fingerprint": fingerprint,
        "extractor": extractor if metric.requires & FEATURE_INPUTS else None,
        "metric": described["metric"],
        "state_params": metric.state_params_values(),
        "state_version": described["state_version"],
        "gan_eval": __version__,
        "layout": ENTRY_LAYOUT,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class ReferenceCache:
    """Load and store reference states keyed by :func:`entry_key`."""

    def __init__(self, directory: str | Path | None = None, note: Callable[[str], None] | None = None):
        self.directory = Path(directory) if directory is not None else cache_dir()
        self.note = note or (lambda message: None)

    def path(self, key: str) -> Path:
        return self.directory / "reference" / f"{key}.npz"

    def load(self, key: str, bound: Bound, *, quiet: bool = False) -> tuple[State, int, list] | None:
        """(state, image count, skipped list) of a stored entry, or None when absent or unusable
        (with a note, unless ``quiet``)."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            stats = read_stats(path)
            if stats.header.get("key") != key or set(stats.arrays) != {bound.key}:
                raise GanEvalError("the entry does not belong to this key")
            state = bound.metric.state_from_arrays(stats.arrays[bound.key], str(path))
            source = stats.header["source"]
            return state, int(source["count"]), list(source.get("skipped", []))
        except (GanEvalError, ValueError, KeyError, TypeError) as exc:
            if not quiet:
                self.note(f"reference cache entry {path} is unusable ({exc}); recomputing it")
            return None

    @contextlib.contextmanager
    def computing(self, fingerprint: str):
        """Hold the exclusive lock of one reference while computing it (waiting, with a note, while
        another process holds it). Where locks are unavailable (no ``fcntl``, a read-only cache
        directory) the pass runs unlocked: the lock saves work, it never guards correctness, since
        entries are written atomically."""
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks here
            yield
            return
        path = self.directory / "reference" / f"{hashlib.sha256(fingerprint.encode()).hexdigest()[:32]}.lock"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path, "a")
        except OSError:
            yield
            return
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                started = time.monotonic()
                fcntl.flock(handle, fcntl.LOCK_EX)
                self.note(f"waited {time.monotonic() - started:.0f} s for another process computing the same reference (lock {path})")
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def store(self, key: str, bound: Bound, state: State, *, source: dict[str, Any]) -> None:
        """Write one entry atomically; a failure to write is a note, never an error."""
        try:
            data = stats_bytes({bound.key: state}, [bound], source=source, extra={"key": key})
            atomic_write_bytes(self.path(key), data)
        except (OSError, GanEvalError) as exc:
            self.note(f"could not write the reference cache entry {self.path(key)}: {exc}")


def cached_reference_pass(
    cache: ReferenceCache, *, write: bool = True, blocks: int = 0
) -> Callable[[Source, list[Bound], Callable[[Source, list[Bound]], PassResult]], PassResult]:
    """A ``scoring.ReferencePass`` that reads what it can from ``cache`` and computes (and stores) the
    rest. Entries are per bound metric, keyed with its own extractor's identity, so adding an extractor
    to a run reuses what is already cached for the others."""

    def reference_pass(source: Source, bound: list[Bound], run: Callable[[Source, list[Bound]], PassResult]) -> PassResult:
        fingerprint = source.fingerprint()
        identities = {b.key: b.extractor.identity() if b.extractor is not None else None for b in bound}
        keys = {b.key: entry_key(fingerprint, identities[b.key], b.metric, blocks) for b in bound}
        states: dict[str, State] = {}
        found: dict[str, Any] = {}

        def read_hits(quiet: bool = False) -> list[Bound]:
            for b in bound:
                if b.key not in states and (hit := cache.load(keys[b.key], b, quiet=quiet)) is not None:
                    states[b.key], found["count"], found["skipped"] = hit
            return [b for b in bound if b.key not in states]

        def all_cached() -> PassResult:
            return PassResult(states, found.get("count") or 0, [Skip(**s) for s in found.get("skipped", [])], _preview(source))

        if not read_hits():
            return all_cached()
        with cache.computing(fingerprint) if write else contextlib.nullcontext():
            missing = read_hits(quiet=True)  # another process may have stored them while this one waited
            if not missing:
                return all_cached()
            result = run(source, missing)
            if write:
                record = {
                    "spec": source.spec,
                    "fingerprint": fingerprint,
                    "count": result.count,
                    "skipped": [asdict(s) for s in result.skipped],
                }
                for b in missing:
                    cache.store(keys[b.key], b, result.states[b.key], source=record)
        states.update(result.states)
        return PassResult(states, result.count, result.skipped, result.preview)

    return reference_pass


def _preview(source: Source, limit: int = 64):
    """The first images, for the report's sample grid, when the pass itself was skipped (a hit)."""
    try:
        images = source.read(0, min(limit, len(source))).images
    except Exception:  # a preview is a nicety: a source that cannot be read now is reported elsewhere
        return None
    return images if len(images) else None
