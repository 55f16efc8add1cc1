"""Weights files of the domain nets: a plain state dict (``NAME.pt``) beside a JSON card (``NAME.json``)
holding its SHA-256, the recipe that trained it and the accuracy measured on held-out data.

The card's hash is checked on every load, so a corrupt or swapped file is refused with a message
naming it. Files are written through an in-memory buffer so that the bytes (hence the hash) do not
depend on the file name (``torch.save`` to a path names the archive after the file).
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import torch

from gan_eval.atomic import atomic_write_bytes, atomic_write_text
from gan_eval.errors import InputError

from .net import DomainNet

#: The directory of the bundled weights (inside the installed package).
BUNDLED_DIR = Path(__file__).resolve().parent.parent / "weights"
CARD_FORMAT = 1


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def card_path(weights: Path) -> Path:
    return weights.with_suffix(".json")


def state_dict_bytes(net: torch.nn.Module) -> bytes:
    """The state dict serialised deterministically (same tensors, same bytes)."""
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}, buffer)
    return buffer.getvalue()


def write_weights(net: torch.nn.Module, path: Path, card: dict[str, Any]) -> dict[str, Any]:
    """Write ``path`` (.pt) and its card (.json, with the file name and SHA-256 filled in) atomically."""
    data = state_dict_bytes(net)
    card = {"format": CARD_FORMAT, **card, "file": path.name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    atomic_write_bytes(path, data)
    atomic_write_text(card_path(path), json.dumps(card, indent=2, sort_keys=False) + "\n")
    for written in (path, card_path(path)):
        written.chmod(0o644)  # readable by all, like any installed package file (temp files start 0600)
    return card


def read_card(weights: Path) -> dict[str, Any]:
    path = card_path(weights)
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, f"missing: the card with the SHA-256 of {weights.name} (written by 'gan-eval train classifier')") from None
    except (OSError, ValueError) as exc:
        raise InputError(path, f"unreadable weights card: {exc}") from None
    if not isinstance(card, dict) or not isinstance(card.get("sha256"), str):
        raise InputError(path, "weights card has no 'sha256' entry")
    return card


def load_verified(weights: Path) -> tuple[DomainNet, dict[str, Any]]:
    """The net in eval mode on CPU and its card, after checking the file's SHA-256 against the card."""
    card = read_card(weights)
    if not weights.is_file():
        raise InputError(weights, "weights file not found")
    actual = sha256_of(weights)
    if actual != card["sha256"]:
        raise InputError(
            weights,
            f"SHA-256 {actual[:16]}... does not match {card_path(weights).name} ({card['sha256'][:16]}...): "
            "the file is corrupt or was replaced; rebuild it with 'gan-eval train classifier' or reinstall gan-eval",
        )
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged archive
        raise InputError(weights, f"cannot load the state dict: {type(exc).__name__}: {exc}") from None
    net = DomainNet(classes=int(card.get("architecture", {}).get("classes", 10)))
    try:
        net.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise InputError(weights, f"not a DomainNet state dict: {exc}") from None
    return net.eval(), card
