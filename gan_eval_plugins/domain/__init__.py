"""Bundled domain feature extractors ``mnist-cnn`` and ``fashion-cnn``: the offline default.

Small CNN classifiers trained by ``gan-eval train classifier`` (trainers/classifier.py) on real data
that installs offline. ``features`` is the 128-d penultimate layer (FID, KID, precision/recall),
``logits`` the 10 class logits (IS). Their values compare only with values computed with the same
net (its SHA-256 is in the record), never with Inception-based numbers. See docs/extractors/domain.md.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import Any, ClassVar, Mapping

import torch

import gan_eval
from gan_eval.errors import GanEvalError
from gan_eval.extractor import FeatureExtractor, SourceInfo
from gan_eval.params import Param

from .net import INPUT_SIZE, DomainNet, normalise, to_gray01, to_input_size
from .selection import DOMAINS, guess_domain, is_gray28
from .weights import BUNDLED_DIR, card_path, load_verified

PREPROCESSING = (
    "gray = ITU-R 601 luma of RGB (exact for gray stored as 3 equal channels); other sizes resized to 28×28 with bilinear antialiased interpolation; x/255*2-1"
)


def weights_path(name: str, params: Mapping[str, Any]) -> Path:
    given = params.get("weights") or ""
    return Path(given).expanduser() if given else BUNDLED_DIR / f"{name}.pt"


@functools.lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int, size: int) -> tuple[DomainNet, dict[str, Any]]:
    return load_verified(Path(path))


def load_net(path: Path) -> tuple[DomainNet, dict[str, Any]]:
    """The verified net (CPU, eval mode) and its card; cached per file version, hashed once."""
    stat = path.stat()
    return _load(str(path), stat.st_mtime_ns, stat.st_size)


def bundled_net(domain: str) -> DomainNet | None:
    """The bundled net of ``domain`` for auto-selection's data test, or None if it cannot be loaded."""
    try:
        return load_net(BUNDLED_DIR / f"{DOMAINS[domain]}.pt")[0]
    except (GanEvalError, OSError):
        return None


class DomainExtractor(FeatureExtractor):
    """A bundled 28×28 gray classifier; subclasses fix the domain."""

    domain: ClassVar[str]
    outputs = frozenset({"features", "logits"})
    standard = False
    priority = 10
    params = {
        "weights": Param("", "weights file written by 'gan-eval train classifier' (its NAME.json card beside it); default: the bundled one"),
    }

    @classmethod
    def unavailable_reason(cls, params: Mapping[str, Any]) -> str | None:
        path = weights_path(cls.name, params)
        if not path.is_file():
            return f"weights file {path} not found (rebuild it with 'gan-eval train classifier --domain {cls.domain} --out {path.parent}')"
        if not card_path(path).is_file():
            return f"weights card {card_path(path)} not found (it holds the weights' SHA-256; rebuild with 'gan-eval train classifier')"
        return None

    @classmethod
    def suits(cls, info: SourceInfo) -> bool:
        """Auto-selection takes a domain net only for 28×28 single-channel data of its own domain."""
        return is_gray28(info) and guess_domain(info, bundled_net)[0] == cls.domain

    def __init__(self, device: torch.device | str = "cpu", **params: Any):
        super().__init__(device, **params)
        self.weights = weights_path(self.name, self.p)
        net, self.card = load_net(self.weights)
        self.net = DomainNet(classes=net.head.out_features)
        self.net.load_state_dict(net.state_dict())
        self.net.to(self.device).eval()
        self._warned: set[str] = set()

    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        self._note_conversions(images)
        with torch.no_grad():
            features, logits = self.net(normalise(to_input_size(to_gray01(images))))
        return {"features": features.float(), "logits": logits.float()}

    def _note_conversions(self, images: torch.Tensor) -> None:
        """Say once (into the run's warnings) when inputs are not the nets' native 28×28 gray."""
        size = tuple(images.shape[-2:])
        if size != INPUT_SIZE and "resize" not in self._warned:
            self._warned.add("resize")
            warnings.warn(f"{self.name}: {size[0]}×{size[1]} images are resized to 28×28 (bilinear, antialiased) for this 28×28 network")
        colour = images.shape[1] == 3 and not (torch.equal(images[:, 0], images[:, 1]) and torch.equal(images[:, 1], images[:, 2]))
        if colour and "gray" not in self._warned:
            self._warned.add("gray")
            warnings.warn(f"{self.name}: colour images are reduced to gray (ITU-R 601 luma) for this gray-scale network")

    def identity(self) -> dict[str, Any]:
        return {
            **super().identity(),
            "weights_sha256": self.card["sha256"],
            "weights_file": self.weights.name,
            "trained_on": self.card.get("trained_on"),
            "held_out_accuracy": self.card.get("accuracy"),
            "preprocessing": PREPROCESSING,
            "comparable_with": f"only values computed with {self.name} of the same weights_sha256 (not Inception-based numbers)",
        }


class MnistCnn(DomainExtractor):
    name = "mnist-cnn"
    domain = "mnist"
    summary = "bundled MNIST-digit CNN (28×28 gray; 128-d features, 10 logits); offline default for digits, not comparable with Inception"


class FashionCnn(DomainExtractor):
    name = "fashion-cnn"
    domain = "fashion"
    summary = "bundled Fashion-MNIST CNN (28×28 gray; 128-d features, 10 logits); offline default for clothes, not comparable with Inception"


@gan_eval.hookimpl
def register_extractors():
    return [MnistCnn, FashionCnn]
