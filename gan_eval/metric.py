"""The metric plugin interface.

A metric declares which inputs it needs (``"images"``, ``"features"``, ``"logits"``), keeps a
mergeable :class:`~gan_eval.state.State` per input set, and turns the generated set's state (and the
reference's, when it uses one) into named values. It never knows which feature extractor produced
its features: the engine decides that, and the record says so.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal, Mapping

import numpy as np
import torch

from .errors import InputError
from .params import Param, resolve_params
from .resampling import Resampler
from .state import Reduction, State

#: Inputs a metric may require. ``features`` and ``logits`` come from the run's feature extractor.
INPUTS = frozenset({"images", "features", "logits"})


class Metric(ABC):
    """Base class for metric plugins. Subclass, set the class attributes, implement three methods."""

    #: Short unique name used on the command line (``-m NAME``) and in records.
    name: ClassVar[str]
    #: One-line description shown by ``gan-eval plugins``.
    summary: ClassVar[str] = ""
    #: Inputs needed per batch, a subset of :data:`INPUTS`.
    requires: ClassVar[frozenset[str]] = frozenset({"images"})
    #: ``required``: the metric compares with a reference; ``optional``: it reports the reference's
    #: value too when one is given; ``unused``: it only looks at the generated set.
    reference: ClassVar[Literal["required", "optional", "unused"]] = "optional"
    #: The key of :meth:`compute`'s result that summarises the metric (tables, "better" marks).
    primary: ClassVar[str]
    #: Whether a larger primary value is better (None: neither, e.g. a ratio whose ideal is 1).
    higher_is_better: ClassVar[bool | None] = None
    #: Parameters with defaults, settable with ``-O NAME.PARAM=VALUE``.
    params: ClassVar[Mapping[str, Param]] = {}
    #: Bump when the state layout or meaning changes: it is part of the reference cache key.
    state_version: ClassVar[int] = 1
    #: Names of the parameters that change what :meth:`update` accumulates (None: all of them).
    #: The reference cache and stats files compare only these, so e.g. KID's seed can change
    #: without recomputing the reference.
    state_params: ClassVar[frozenset[str] | None] = None
    #: How confidence intervals are obtained (gan_eval.bootstrap): ``"auto"`` resamples this metric's
    #: State (rows of its ``cat`` accumulators, or blocks of its ``sum`` ones) with replacement and
    #: calls compute() on each resample; ``"half"`` draws half the units without replacement instead
    #: (for statistics that ties distort, e.g. k-NN radii); ``"none"`` says resampling is meaningless
    #: or too costly here, and ``resampling_reason`` why.
    resampling: ClassVar[Literal["auto", "half", "none"]] = "auto"
    resampling_reason: ClassVar[str] = ""

    def __init__(self, **params: Any):
        self.p = resolve_params(f"metric {self.name}", self.params, params)

    # --- to implement ---------------------------------------------------------------------------
    @abstractmethod
    def state_spec(self) -> Mapping[str, Reduction]:
        """Accumulator names and how each merges (``"sum"`` or ``"cat"``)."""
        raise NotImplementedError

    @abstractmethod
    def update(self, state: State, inputs: Mapping[str, torch.Tensor]) -> None:
        """Accumulate one batch. ``inputs["images"]`` is uint8 N×3×H×W RGB on the run's device;
        ``inputs["features"]``/``inputs["logits"]`` are float tensors N×D from the extractor."""
        raise NotImplementedError

    @abstractmethod
    def compute(self, generated: State, reference: State | None) -> dict[str, float]:
        """Final values from the accumulated states (``reference`` is None without a reference)."""
        raise NotImplementedError

    def details(self, generated: State, reference: State | None) -> dict[str, Any] | None:
        """Optional: small JSON data for report sections (e.g. a histogram), stored as the result's
        ``"details"`` in the record (at most 64 kB of JSON). None (the default) stores nothing."""
        return None

    def resampler(self, generated: State, reference: State | None) -> Resampler | None:
        """Optional fast path for bootstrap intervals (gan_eval.resampling): precompute once what
        every replicate needs and map unit counts to values. None (the default): each replicate
        calls :meth:`compute` on resampled states."""
        return None

    # --- stored states (reference cache, stats files, snapshots): optional overrides ----------------
    def check_state(self, state: State, where: str) -> None:
        """Raise ``InputError(where, ...)`` when a loaded state cannot be this metric's (shapes,
        counts, symmetric/PSD matrices ...). Called for every state read from a file."""

    def stats_arrays(self, state: State) -> dict[str, np.ndarray]:
        """Extra top-level arrays a stats file carries for other tools (FID: pytorch-fid's ``mu`` and
        ``sigma``). The file's own layout never depends on them."""
        return {}

    @classmethod
    def state_from_foreign_stats(cls, arrays: Mapping[str, np.ndarray], where: str) -> State | None:
        """This metric's reference State from another tool's statistics file (FID: a pytorch-fid
        ``mu``/``sigma`` file), or None when the arrays are not such a file for it."""
        return None

    def state_from_arrays(self, arrays: Mapping[str, np.ndarray], where: str) -> State:
        """The State stored as ``arrays`` (see :meth:`State.to_arrays`), checked by :meth:`check_state`."""
        try:
            state = State.from_arrays(self.state_spec(), arrays)
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(where, f"arrays of {self.name} do not fit its state layout: {exc}") from None
        self.check_state(state, where)
        return state

    # --- provided ---------------------------------------------------------------------------------
    def new_state(self, blocks: int = 0) -> State:
        """An empty state; with ``blocks`` it keeps that many partial sums for bootstrap intervals."""
        return State(self.state_spec(), blocks=blocks)

    def state_params_values(self) -> dict[str, Any]:
        """The parameters that determine this metric's state (see :attr:`state_params`)."""
        names = self.p if self.state_params is None else self.state_params
        return {name: self.p[name] for name in sorted(names)}

    def uses_reference(self) -> bool:
        return self.reference != "unused"

    def describe(self) -> dict[str, Any]:
        """What the record stores about this metric instance."""
        return {
            "metric": self.name,
            "params": dict(self.p),
            "primary": self.primary,
            "higher_is_better": self.higher_is_better,
            "requires": sorted(self.requires),
            "state_version": self.state_version,
        }
