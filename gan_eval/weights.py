"""Where standard weights files are looked for, their SHA-256, and the one opt-in download.

An extractor declares a :class:`WeightsSpec` (file names, publisher address, published SHA-256 where
there is one, an environment variable, the usual cache folders). :func:`find_weights` searches, in
order: the path the user gave (``-O NAME.weights=PATH``), the environment variable, then every cache
folder under every file name; when nothing is found the error lists every place searched and how to
provide the file. Nothing here downloads implicitly: :func:`fetch_weights` runs only when a user
asks (``gan-eval weights fetch NAME``). File hashes are cached on disk by (path, size, mtime)
because hashing a 1 GB file on every run is wasted time.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping

from .atomic import atomic_open, atomic_write_text
from .cache import cache_dir
from .errors import GanEvalError, InputError, UsageError
from .hashing import CHUNK, sha256_file

_HASH_CACHE_NAME = "weights-sha256.json"

#: Symbolic cache folders a spec may name, resolved when searched (so $TORCH_HOME etc. apply).
TORCH_HUB = "torch-hub"  # torch.hub.get_dir()/checkpoints: torch hub, timm, pytorch-fid, torch-fidelity
CLIP_CACHE = "clip"  # ~/.cache/clip: OpenAI's clip package and open_clip download OpenAI files there
GAN_EVAL_CACHE = "gan-eval"  # $GAN_EVAL_CACHE_DIR/weights (or the user cache directory's)
_LABELS = {TORCH_HUB: "torch hub cache", CLIP_CACHE: "clip cache", GAN_EVAL_CACHE: "gan-eval cache"}


def folder_label(folder: str) -> str:
    """How a found file's origin is named (records, ``gan-eval weights list``)."""
    return _LABELS.get(folder, folder)


def folder_path(folder: str) -> Path:
    """The directory a symbolic folder name stands for now."""
    if folder == TORCH_HUB:
        import torch

        return Path(torch.hub.get_dir()) / "checkpoints"
    if folder == CLIP_CACHE:
        return Path("~/.cache/clip").expanduser()
    if folder == GAN_EVAL_CACHE:
        return cache_dir() / "weights"
    return Path(folder).expanduser()


@dataclass(frozen=True)
class WeightsSpec:
    """A standard weights file: what it is called, where it comes from, where it is looked for."""

    name: str  #: the extractor's name: ``-O NAME.weights=PATH``, ``gan-eval weights fetch NAME``
    title: str  #: what the file is, for messages ("DINOv2 ViT-S/14 weights")
    file_names: tuple[str, ...]  #: first: the publisher's name (what fetch writes); others: peers' names
    url: str = ""  #: the publisher's download address ("" when none is known)
    sha256: str = ""  #: the publisher's SHA-256 ("" when the publisher states none)
    env: str = ""  #: environment variable that may hold the file's path
    folders: tuple[str, ...] = (TORCH_HUB, GAN_EVAL_CACHE)  #: searched in order; fetch writes to the first

    @property
    def param(self) -> str:
        return f"-O {self.name}.weights=PATH"


@dataclass(frozen=True)
class FoundWeights:
    """A weights file that was found, with its SHA-256 and where it was found."""

    path: Path
    sha256: str
    origin: str  # "parameter", "environment", or the cache folder's label ("torch hub cache", ...)

    def matches(self, spec: WeightsSpec) -> bool | None:
        """True/False against the published SHA-256; None when the publisher states none."""
        return None if not spec.sha256 else self.sha256 == spec.sha256


class WeightsNotFoundError(UsageError):
    """No weights file in any place searched; the message lists them and how to provide one."""


def candidates(spec: WeightsSpec, explicit: str = "") -> list[tuple[Path, str]]:
    """Every place searched, in order, with where it came from. An explicit path is the only one."""
    if explicit:
        return [(Path(explicit).expanduser(), "parameter")]
    found: list[tuple[Path, str]] = []
    env = os.environ.get(spec.env, "").strip() if spec.env else ""
    if env:
        found.append((Path(env).expanduser(), "environment"))
    for folder in spec.folders:
        directory = folder_path(folder)
        found.extend((directory / name, folder_label(folder)) for name in spec.file_names)
    return found


def how_to_provide(spec: WeightsSpec) -> str:
    """What a user can do to make the file available."""
    digest = f" (SHA-256 {spec.sha256[:16]}…)" if spec.sha256 else ""
    ways = [f"put {spec.file_names[0]}{digest} in {folder_path(spec.folders[0])}", f"pass {spec.param}"]
    if spec.env:
        ways.append(f"set {spec.env}=PATH")
    fetch = f"run 'gan-eval weights fetch {spec.name}' on a machine that is online (it downloads {spec.url})" if spec.url else ""
    text = ", or ".join(ways) + (f"; or {fetch}" if fetch else "")
    return f"{text}. gan-eval never downloads them otherwise"


def missing_message(spec: WeightsSpec, explicit: str = "") -> str:
    searched = [str(path) for path, _ in candidates(spec, explicit)]
    if spec.env and not explicit and not os.environ.get(spec.env, "").strip():
        searched.insert(0, f"${spec.env} (not set)")
    return f"{spec.title} not found (searched: {', '.join(searched)}); {how_to_provide(spec)}."


def locate(spec: WeightsSpec, explicit: str = "") -> tuple[Path, str] | None:
    """The first existing candidate, or None. A given path or environment path that does not exist is an error."""
    for path, origin in candidates(spec, explicit):
        if path.is_file():
            return path, origin
        if origin == "parameter":
            raise UsageError(f"-O {spec.name}.weights={explicit}: no such file")
        if origin == "environment":
            raise UsageError(f"{spec.env}={path}: no such file")
    return None


def find_weights(spec: WeightsSpec, explicit_path: str = "", hash_file: Callable[[Path], str] | None = None) -> FoundWeights:
    """The weights file for ``spec`` with its SHA-256; raises :class:`WeightsNotFoundError` listing
    every place searched and how to provide the file."""
    found = locate(spec, str(explicit_path or ""))
    if found is None:
        raise WeightsNotFoundError(missing_message(spec, str(explicit_path or "")))
    path, origin = found
    return FoundWeights(path, file_sha256(path, hash_file), origin)


def check_published_hash(found: FoundWeights, spec: WeightsSpec, allow_other: bool) -> None:
    """Refuse a file whose SHA-256 is not the published one, unless the user accepts it."""
    if found.matches(spec) is not False or allow_other:
        return
    raise UsageError(
        f"{found.path}: SHA-256 {found.sha256} is not the published one of the {spec.title} ({spec.sha256}); "
        "the file is different, corrupt or truncated, so its values would not be comparable with published ones. "
        f"Use the publisher's file (gan-eval weights fetch {spec.name}), or pass -O {spec.name}.allow_nonstandard=true "
        "to use it anyway (results are then marked non-standard)."
    )


def search_report(spec: WeightsSpec) -> list[dict[str, object]]:
    """Every place searched with whether a file is there (``gan-eval weights list``)."""
    rows = []
    if spec.env and not os.environ.get(spec.env, "").strip():
        rows.append({"place": f"${spec.env}", "origin": "environment", "found": False, "note": "not set"})
    for path, origin in candidates(spec):
        rows.append({"place": str(path), "origin": origin, "found": path.is_file(), "note": ""})
    return rows


def specs_of(extractors: Mapping[str, type]) -> dict[str, WeightsSpec]:
    """The weights specs declared by extractor classes (their ``weights_spec`` attribute), by name."""
    specs = {}
    for name, cls in sorted(extractors.items()):
        spec = getattr(cls, "weights_spec", None)
        if isinstance(spec, WeightsSpec):
            specs[name] = spec
    return specs


# --- hashing, cached by (path, size, mtime) ----------------------------------------------------------
def _hash_cache_file() -> Path:
    return cache_dir() / _HASH_CACHE_NAME


def file_sha256(path: str | Path, hash_file: Callable[[Path], str] | None = None) -> str:
    """SHA-256 of ``path``, reused from the on-disk cache while its size and mtime are unchanged."""
    path = Path(path).resolve()
    stat = path.stat()
    stamp = [stat.st_size, stat.st_mtime_ns]
    cache = _read_hash_cache()
    entry = cache.get(str(path))
    if isinstance(entry, dict) and entry.get("stamp") == stamp and isinstance(entry.get("sha256"), str):
        return entry["sha256"]
    digest = (hash_file or sha256_file)(path)
    _remember(cache, path, stamp, digest)
    return digest


def remember_sha256(path: str | Path, digest: str) -> None:
    """Record a hash computed while writing ``path`` (so the first use does not hash it again)."""
    path = Path(path).resolve()
    stat = path.stat()
    _remember(_read_hash_cache(), path, [stat.st_size, stat.st_mtime_ns], digest)


def _remember(cache: dict, path: Path, stamp: list[int], digest: str) -> None:
    cache[str(path)] = {"stamp": stamp, "sha256": digest}
    try:
        atomic_write_text(_hash_cache_file(), json.dumps(cache, indent=1, sort_keys=True))
    except OSError:
        pass  # a read-only cache directory only costs a re-hash next time


def _read_hash_cache() -> dict:
    try:
        data = json.loads(_hash_cache_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# --- the opt-in download -----------------------------------------------------------------------------
@dataclass(frozen=True)
class FetchResult:
    """What :func:`fetch_weights` did."""

    path: Path
    url: str
    sha256: str
    size: int
    downloaded: bool  # False: a file with the published hash was already there
    verified: bool  # its SHA-256 equals the published one (False: the publisher states none)

    def describe(self) -> str:
        check = "matches the published SHA-256" if self.verified else "recorded (the publisher states no hash)"
        if not self.downloaded:
            return f"{self.path} is already there ({self.size} bytes); SHA-256 {self.sha256} {check}. Nothing downloaded."
        return f"downloaded {self.url} ({self.size} bytes) to {self.path}; SHA-256 {self.sha256} {check}."


class FetchError(GanEvalError):
    """A download failed; nothing was written."""


def fetch_weights(
    spec: WeightsSpec, to_dir: str | Path | None = None, timeout: float = 60.0, progress: Callable[[int, int | None], None] | None = None
) -> FetchResult:
    """Download ``spec``'s file from its publisher into ``to_dir`` (default: the first folder the
    finder searches), checking the published SHA-256 where there is one. The file appears atomically
    and complete, or not at all. ``progress(received, total)`` is called as bytes arrive."""
    if not spec.url:
        raise UsageError(f"{spec.title}: no publisher address is known, so gan-eval cannot fetch it; {how_to_provide(spec)}.")
    target = (Path(to_dir).expanduser() if to_dir else folder_path(spec.folders[0])) / spec.file_names[0]
    if target.is_file() and spec.sha256:
        digest = file_sha256(target)
        if digest == spec.sha256:
            return FetchResult(target, spec.url, digest, target.stat().st_size, downloaded=False, verified=True)
    digest, size = _download(spec, target, timeout, progress)
    remember_sha256(target, digest)
    return FetchResult(target, spec.url, digest, size, downloaded=True, verified=bool(spec.sha256))


def _download(spec: WeightsSpec, target: Path, timeout: float, progress: Callable[[int, int | None], None] | None) -> tuple[str, int]:
    url = spec.url
    request = urllib.request.Request(url, headers={"User-Agent": "gan-eval"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"cannot download {url}: the server answered HTTP {exc.code} {exc.reason}; nothing was written") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(
            f"cannot download {url}: {reason} (is this machine online? otherwise copy the file by hand: {how_to_provide(spec)}); nothing was written"
        ) from None
    with response:
        total = _content_length(response)
        digest = hashlib.sha256()
        received = 0
        try:
            with atomic_open(target, "wb", encoding=None) as handle:
                for chunk in _chunks(response, url, timeout):
                    handle.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    if progress is not None:
                        progress(received, total)
                if total is not None and received != total:
                    raise FetchError(f"download of {url} was truncated: received {received} of {total} bytes; nothing was written, try again")
                if spec.sha256 and digest.hexdigest() != spec.sha256:
                    raise FetchError(
                        f"download of {url} has SHA-256 {digest.hexdigest()}, not the published {spec.sha256}: "
                        "the file is corrupt or not the publisher's; nothing was written"
                    )
        except _Truncated as exc:
            raise FetchError(
                f"download of {url} was truncated: received {received + exc.partial} of "
                f"{total if total is not None else 'an unknown number of'} bytes; nothing was written, try again"
            ) from None
    return digest.hexdigest(), received


class _Truncated(Exception):
    def __init__(self, partial: int):
        self.partial = partial


def _chunks(response: http.client.HTTPResponse, url: str, timeout: float) -> Iterable[bytes]:
    while True:
        try:
            chunk = response.read(CHUNK)
        except http.client.IncompleteRead as exc:
            raise _Truncated(len(exc.partial)) from None
        except (socket.timeout, TimeoutError):
            raise FetchError(f"download of {url} stalled for {timeout:g} s; nothing was written, try again") from None
        except OSError as exc:
            raise FetchError(f"download of {url} failed: {exc}; nothing was written, try again") from None
        if not chunk:
            return
        yield chunk


def _content_length(response: http.client.HTTPResponse) -> int | None:
    value = response.headers.get("Content-Length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


# --- reading a weights file --------------------------------------------------------------------------
def read_state_dict(path: str | Path, what: str) -> dict:
    """A state dict of tensors read safely (``weights_only``); a file that is not one is an InputError
    naming it. ``what`` names the expected network for the message."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InputError(
            path, f"cannot be read as a PyTorch weights file ({type(exc).__name__}: {exc}); the file is probably corrupt or truncated: replace it"
        ) from None
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError(path, f"is not a state dict of tensors (expected the {what})")
    return state


def check_layout(path: str | Path, state: Mapping, expected: Mapping[str, tuple[int, ...]], what: str) -> None:
    """Refuse a state dict whose keys or shapes are not ``expected``'s, naming the first differences."""
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        parts = ([f"missing {_few(missing)}"] if missing else []) + ([f"unexpected {_few(unexpected)}"] if unexpected else [])
        raise InputError(path, f"is not the {what}: " + "; ".join(parts))
    wrong = [f"{k} {tuple(state[k].shape)} (expected {tuple(s)})" for k, s in expected.items() if tuple(state[k].shape) != tuple(s)]
    if wrong:
        raise InputError(path, f"has tensors of the wrong shape for the {what}: {_few(wrong)}")


def _few(items: list[str], n: int = 3) -> str:
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")
