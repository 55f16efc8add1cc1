"""Finding, checking and loading the standard Inception weights file. Never downloads.

Looked for (by gan_eval.weights, from :data:`SPEC`), in order: the ``inception.weights`` parameter,
``$GAN_EVAL_INCEPTION_WEIGHTS``, then the torch hub checkpoint directory (``torch.hub.get_dir()/checkpoints``:
``$TORCH_HOME/hub/checkpoints``, by default ``~/.cache/torch/hub/checkpoints``) under pytorch-fid's and
torch-fidelity's file names. The file's SHA-256 is checked against the standard one; hashes are cached
on disk by (path, size, mtime). ``gan-eval weights fetch inception`` is the one, opt-in, download.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import torch

from gan_eval import weights as core
from gan_eval.errors import InputError, UsageError
from gan_eval.hashing import sha256_file

STANDARD_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
FILE_NAMES = ("pt_inception-2015-12-05-6726825d.pth", "weights-inception-2015-12-05-6726825d.pth")
WEIGHTS_ENV = "GAN_EVAL_INCEPTION_WEIGHTS"
CACHE_ENV = "GAN_EVAL_CACHE_DIR"

#: The standard file: pytorch-fid's release asset (torch-fidelity's is the same bytes under another name).
SPEC = core.WeightsSpec(
    name="inception",
    title="standard Inception weights",
    file_names=FILE_NAMES,
    url="https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",
    sha256=STANDARD_SHA256,
    env=WEIGHTS_ENV,
    folders=(core.TORCH_HUB,),
)


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
    return core.folder_path(core.TORCH_HUB)


def candidate_paths(explicit: str = "") -> list[tuple[Path, str]]:
    """Every place searched, in order, with the name of where it came from."""
    return core.candidates(SPEC, explicit)


def find_weights(explicit: str = "") -> tuple[Path, str] | None:
    """The first existing candidate; an explicit path or $GAN_EVAL_INCEPTION_WEIGHTS that does not exist is an error."""
    return core.locate(SPEC, explicit)


def missing_message(explicit: str = "") -> str:
    return core.missing_message(SPEC, explicit)


def locate(params: Mapping[str, object]) -> WeightsFile:
    """Find and hash the weights for ``params`` (``weights``); raise UsageError naming the places searched."""
    found = core.find_weights(SPEC, str(params.get("weights", "") or ""), hash_file=lambda p: _hash_file(p))
    return WeightsFile(found.path, found.sha256, found.origin)


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


def cache_dir() -> Path:
    return core.cache_dir()


def file_sha256(path: Path) -> str:
    """SHA-256 of ``path``, reused from the on-disk cache while its size and mtime are unchanged."""
    return core.file_sha256(path, hash_file=lambda p: _hash_file(p))


def _hash_file(path: Path) -> str:
    return sha256_file(path)


# --- loading -----------------------------------------------------------------------------------------
def load_state_dict(path: Path, expected: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Read a state dict safely (weights_only) and check it has exactly the network's keys and shapes.

    BatchNorm's ``num_batches_tracked`` counters are optional (they do not affect inference).
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InputError(
            path, f"cannot be read as a PyTorch weights file ({type(exc).__name__}: {exc}); the file is probably corrupt or truncated: replace it"
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError(path, "is not a state dict of tensors (expected the Inception-v3 FID weights)")
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    wanted = {k: v for k, v in expected.items() if not k.endswith("num_batches_tracked")}
    missing = sorted(set(wanted) - set(state))
    unexpected = sorted(set(state) - set(wanted))
    if missing or unexpected:
        raise InputError(
            path,
            "is not the Inception-v3 FID weights: "
            + (f"missing {_few(missing)}" if missing else "")
            + ("; " if missing and unexpected else "")
            + (f"unexpected {_few(unexpected)}" if unexpected else ""),
        )
    wrong = [f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})" for k, v in wanted.items() if state[k].shape != v.shape]
    if wrong:
        raise InputError(path, f"has tensors of the wrong shape: {_few(wrong)}")
    return state


def _few(items: list[str], n: int = 3) -> str:
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")
