"""The model-source plugin interface: anything that yields images (a folder, an array file, a
generator checkpoint, a dataset) behind random access by index range.

Random access is what makes the rest generic: the engine cuts ``range(len(source))`` into batches,
hands them to DataLoader workers, gives each distributed rank a disjoint contiguous slice, and can
resume from any batch boundary, all without the source knowing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Mapping

import numpy as np


@dataclass(frozen=True)
class SourceOptions:
    """Options every source understands (a source ignores the ones that do not apply to it)."""

    #: Use at most this many images (the first ones in the source's deterministic order).
    limit: int | None = None
    #: Skip undecodable files (counted in the record) instead of failing.
    skip_bad: bool = False
    #: How to reconcile different image sizes: None (error), ``"first"`` (resize to the first
    #: image's size) or ``"HxW"`` (resize everything to that size). Resizing uses area interpolation.
    resize: str | None = None
    #: Seed for sources that sample (generators): the same seed gives the same images.
    seed: int = 0
    #: How many images a generator source samples.
    count: int | None = None
    #: Value range of float arrays: ``"0,1"``, ``"-1,1"`` or None to infer it (and fail if unsure).
    value_range: str | None = None
    #: Source-specific extras (``key=value`` from ``--source-option``).
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class Skip:
    """One input that was skipped, and why (recorded in the run record)."""

    item: str
    reason: str


@dataclass
class Batch:
    """Images ``[start, stop)`` of a source: uint8 N×3×H×W RGB, plus anything skipped in that range."""

    images: np.ndarray
    skipped: list[Skip] = field(default_factory=list)
    #: Integer class labels, one per image, for sources that know them (datasets, class folders,
    #: conditional generators); metrics that use them (per-class FID, Vendi) read ``inputs["labels"]``.
    labels: np.ndarray | None = None
    #: Extractor outputs computed earlier (a ``features:`` file): ``{"features": N×D, ...}`` of the
    #: extractor named ``outputs_of``, used instead of running it; ``images`` are then placeholders.
    outputs: dict[str, np.ndarray] | None = None
    outputs_of: str | None = None


class Source(ABC):
    """Base class for model-source plugins."""

    #: The spec prefix (``folder:``, ``npz:``, ``dataset:`` ...).
    kind: ClassVar[str]
    summary: ClassVar[str] = ""
    #: When a spec has no known prefix, sources whose :meth:`detect` accepts it are tried in
    #: descending priority.
    priority: ClassVar[int] = 0
    #: The ``--source-option KEY=VALUE`` keys this kind reads, with a one-line meaning each. A key
    #: that no source of a run reads is an error listing these (a typo never silently does nothing).
    extra_options: ClassVar[Mapping[str, str]] = {}
    #: For sources of extractor outputs computed earlier (``features:``): the identity of the
    #: extractor that made them. A run then binds that extractor and checks it is the same.
    outputs_identity: dict[str, Any] | None = None

    def __init__(self, target: str, options: SourceOptions):
        self.target = target
        self.options = options

    @classmethod
    def detect(cls, target: str) -> bool:
        """Whether a prefix-less spec ``target`` looks like this kind (e.g. an existing folder)."""
        return False

    @abstractmethod
    def __len__(self) -> int:
        raise NotImplementedError

    @abstractmethod
    def read(self, start: int, stop: int) -> Batch:
        """Images ``start`` to ``stop`` (exclusive) in the source's deterministic order."""
        raise NotImplementedError

    @abstractmethod
    def fingerprint(self) -> str:
        """A content hash: equal fingerprints mean equal images (keys the reference cache)."""
        raise NotImplementedError

    @abstractmethod
    def info(self) -> dict[str, Any]:
        """Description for the record and for extractor auto-selection: at least ``kind``,
        ``spec``, ``count``, ``height``, ``width`` and ``channels`` (native channel count)."""
        raise NotImplementedError

    def item_names(self) -> list[str] | None:
        """Optional: a name per item, in order (a folder's relative file paths), so exported features
        can say which image each row is; None when items have no names (arrays, generators)."""
        return None

    @property
    def spec(self) -> str:
        return f"{self.kind}:{self.target}"
