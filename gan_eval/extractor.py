"""The feature-extractor plugin interface.

An extractor maps a batch of uint8 RGB images to named float outputs: ``features`` (the embedding
that FID, KID and precision/recall compare) and, where it classifies, ``logits`` (for IS). It runs
once per batch however many metrics use it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Mapping

import torch

from .params import Param, resolve_params


class SourceInfo(dict):
    """What auto-selection may look at: the generated source's ``info()`` (``height``, ``width``,
    ``channels`` (native), ``kind``, ``count``, ``dataset`` where stated ...), ``sample`` (a function
    ``n -> uint8 N×3×H×W`` giving up to n of its images) and, with a reference, ``reference`` (the
    same for the reference)."""


class FeatureExtractor(ABC):
    """Base class for extractor plugins."""

    #: Unique name used with ``--extractor NAME`` and carried in result names (``fid@NAME``).
    name: ClassVar[str]
    summary: ClassVar[str] = ""
    #: Output names this extractor produces, a subset of {"features", "logits"}.
    outputs: ClassVar[frozenset[str]] = frozenset({"features"})
    #: True when values computed with it are comparable with published numbers (standard Inception).
    standard: ClassVar[bool] = False
    #: Auto-selection order: higher is tried first among the suitable, available extractors.
    priority: ClassVar[int] = 0
    params: ClassVar[Mapping[str, Param]] = {}
    #: Most images per call on a CPU; the engine splits larger batches (None: no limit). A large
    #: network's activations for a few images stay in the CPU caches, for many they stream through
    #: memory: the Inception network runs ~1.35× faster in calls of 8 than of 64 on a 2-core CPU.
    #: It must not change the outputs (check: features bit-identical to whole-batch calls).
    cpu_chunk: ClassVar[int | None] = None
    #: True when ``__call__`` may run in several threads at once (it changes no state of the
    #: extractor): on a CPU the engine then runs its chunks side by side, one single-threaded call
    #: per core (gan_eval/streams.py), instead of one after another with every core in each operator.
    thread_safe: ClassVar[bool] = False

    def __init__(self, device: torch.device | str = "cpu", **params: Any):
        self.device = torch.device(device)
        self.p = resolve_params(f"extractor {self.name}", self.params, params)

    @classmethod
    def unavailable_reason(cls, params: Mapping[str, Any]) -> str | None:
        """None when the extractor can run (e.g. its weights are found), else why not and what to do."""
        return None

    @classmethod
    def suits(cls, info: SourceInfo) -> bool:
        """Whether ``--extractor auto`` may pick this extractor for data described by ``info``."""
        return True

    @abstractmethod
    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """``images``: uint8 N×3×H×W RGB on ``self.device``. Returns float tensors N×D per output."""
        raise NotImplementedError

    def identity(self) -> dict[str, Any]:
        """Everything that determines the outputs: part of cache keys and of the record.

        Subclasses extend it with their weights' SHA-256, preprocessing profile, etc.
        """
        return {"extractor": self.name, "standard": self.standard, "params": dict(self.p)}
