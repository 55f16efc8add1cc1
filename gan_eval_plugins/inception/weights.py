"""Finding, checking and loading the standard Inception weights file. Never downloads.

Looked for, in order: the ``inception.weights`` parameter, ``$GAN_EVAL_INCEPTION_WEIGHTS``, then the
torch hub checkpoint directory (``torch.hub.get_dir()/checkpoints``: ``$TORCH_HOME/hub/checkpoints``,
by default ``~/.cache/torch/hub/checkpoints``) under pytorch-fid's and torch-fidelity's file names.
The file's SHA-256 is checked against the standard one; hashes are cached on disk by (path, size,
mtime) because hashing 95 MB on every run is wasted time.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import torch

from gan_eval.atomic import atomic_write_text
from gan_eval.errors import InputError, UsageError
from gan_eval.hashing import sha256_file

STANDARD_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
FILE_NAMES = ("pt_inception-2015-12-05-6726825d.pth", "weights-inception-2015-12-05-6726825d.pth")
WEIGHTS_ENV = "GAN_EVAL_INCEPTION_WEIGHTS"
CACHE_ENV = "GAN_EVAL_CACHE_DIR"
_HASH_CACHE_NAME = "weights-sha256.json"


@dataclass(frozen=True)
class WeightsFile:
    """A weights file that was found, with its SHA-256 and whether that is the standard file's."""

    path: Path
    sha256: str
    origin: str  # "parameter", "environment", "torch hub cache"

    @property
    def standard(self) -> bool:
        return self.sha256 == STANDARD_SHA256


def hub_checkpoint_dir() -> Path:
    """Where torch hub (and so pytorch-fid and torch-fidelity) keeps downloaded checkpoints."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def candidate_paths(explicit: str = "") -> list[tuple[Path, str]]:
    """Every place searched, in order, with the name of where it came from."""
    if explicit:
        return [(Path(explicit).expanduser(), "parameter")]
    candidates = []
    env = os.environ.get(WEIGHTS_ENV, "").strip()
    if env:
        candidates.append((Path(env).expanduser(), "environment"))
    hub = hub_checkpoint_dir()
    candidates.extend((hub / name, "torch hub cache") for name in FILE_NAMES)
    return candidates


def where_to_put_them() -> str:
    return (
        f"put the standard file {FILE_NAMES[0]} (SHA-256 {STANDARD_SHA256[:16]}…; torch-fidelity's "
        f"{FILE_NAMES[1]} is the same file) in {hub_checkpoint_dir()}, or pass -O inception.weights=PATH, "
        f"or set {WEIGHTS_ENV}=PATH"
    )


def find_weights(explicit: str = "") -> tuple[Path, str] | None:
    """The first existing candidate; an explicit path or $GAN_EVAL_INCEPTION_WEIGHTS that does not exist is an error."""
    for path, origin in candidate_paths(explicit):
        if path.is_file():
            return path, origin
        if origin == "parameter":
            raise UsageError(f"-O inception.weights={explicit}: no such file")
        if origin == "environment":
            raise UsageError(f"{WEIGHTS_ENV}={path}: no such file")
    return None


def missing_message(explicit: str = "") -> str:
    searched = ", ".join(str(p) for p, _ in candidate_paths(explicit))
    if not os.environ.get(WEIGHTS_ENV):
        searched = f"${WEIGHTS_ENV} (not set), {searched}"
    return f"standard Inception weights not found (searched: {searched}); {where_to_put_them()}. gan-eval never downloads them."


def locate(params: Mapping[str, object]) -> WeightsFile:
    """Find and hash the weights for ``params`` (``weights``); raise UsageError naming the places searched."""
    explicit = str(params.get("weights", "") or "")
    found = find_weights(explicit)
    if found is None:
        raise UsageError(missing_message(explicit))
    path, origin = found
    return WeightsFile(path, file_sha256(path), origin)


def check_standard(weights: WeightsFile, allow_nonstandard: bool) -> None:
    """Refuse a file that is not the standard one unless the user said it is fine."""
    if weights.standard or allow_nonstandard:
        return
    raise UsageError(
        f"{weights.path}: SHA-256 {weights.sha256} is not that of the standard Inception weights "
        f"({STANDARD_SHA256}); the file is different, corrupt or truncated. Its FID/IS would not be comparable "
        "with published values. Use the standard file, or pass -O inception.allow_nonstandard=true to use it "
        "anyway (results are then marked non-standard)."
    )


# --- hashing, cached by (path, size, mtime) ----------------------------------------------------------
def cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("gan-eval"))


def file_sha256(path: Path) -> str:
    """SHA-256 of ``path``, reused from the on-disk cache while its size and mtime are unchanged."""
    path = Path(path).resolve()
    stat = path.stat()
    key = str(path)
    stamp = [stat.st_size, stat.st_mtime_ns]
    cache_file = cache_dir() / _HASH_CACHE_NAME
    cache = _read_hash_cache(cache_file)
    entry = cache.get(key)
    if isinstance(entry, dict) and entry.get("stamp") == stamp and isinstance(entry.get("sha256"), str):
        return entry["sha256"]
    digest = _hash_file(path)
    cache[key] = {"stamp": stamp, "sha256": digest}
    try:
        atomic_write_text(cache_file, json.dumps(cache, indent=1, sort_keys=True))
    except OSError:
        pass  # a read-only cache directory only costs a re-hash next time
    return digest


def _hash_file(path: Path) -> str:
    return sha256_file(path)


def _read_hash_cache(cache_file: Path) -> dict:
    try:
        data = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# --- loading -----------------------------------------------------------------------------------------
def load_state_dict(path: Path, expected: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Read a state dict safely (weights_only) and check it has exactly the network's keys and shapes.

    BatchNorm's ``num_batches_tracked`` counters are optional (they do not affect inference).
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InputError(path, f"cannot be read as a PyTorch weights file ({type(exc).__name__}: {exc}); "
                               "the file is probably corrupt or truncated: replace it") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError(path, "is not a state dict of tensors (expected the Inception-v3 FID weights)")
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    wanted = {k: v for k, v in expected.items() if not k.endswith("num_batches_tracked")}
    missing = sorted(set(wanted) - set(state))
    unexpected = sorted(set(state) - set(wanted))
    if missing or unexpected:
        raise InputError(path, "is not the Inception-v3 FID weights: "
                               + (f"missing {_few(missing)}" if missing else "")
                               + ("; " if missing and unexpected else "")
                               + (f"unexpected {_few(unexpected)}" if unexpected else ""))
    wrong = [f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})" for k, v in wanted.items() if state[k].shape != v.shape]
    if wrong:
        raise InputError(path, f"has tensors of the wrong shape: {_few(wrong)}")
    return state


def _few(items: list[str], n: int = 3) -> str:
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")
