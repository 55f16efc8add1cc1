"""The metric plugin interface.

A metric declares which inputs it needs (``"images"``, ``"features"``, ``"logits"``), keeps a
mergeable :class:`~gan_eval.state.State` per input set, and turns the generated set's state (and the
reference's, when it uses one) into named values. It never knows which feature extractor produced
its features: the engine decides that, and the record says so.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Mapping

import torch

from .params import Param, resolve_params
from .state import Reduction, State

#: Inputs a metric may require. ``features`` and ``logits`` come from the run's feature extractor.
INPUTS = frozenset({"images", "features", "logits"})


class Metric:
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

    def __init__(self, **params: Any):
        self.p = resolve_params(f"metric {self.name}", self.params, params)

    # --- to implement ---------------------------------------------------------------------------
    def state_spec(self) -> Mapping[str, Reduction]:
        """Accumulator names and how each merges (``"sum"`` or ``"cat"``)."""
        raise NotImplementedError

    def update(self, state: State, inputs: Mapping[str, torch.Tensor]) -> None:
        """Accumulate one batch. ``inputs["images"]`` is uint8 N×3×H×W RGB on the run's device;
        ``inputs["features"]``/``inputs["logits"]`` are float tensors N×D from the extractor."""
        raise NotImplementedError

    def compute(self, generated: State, reference: State | None) -> dict[str, float]:
        """Final values from the accumulated states (``reference`` is None without a reference)."""
        raise NotImplementedError

    def details(self, generated: State, reference: State | None) -> dict[str, Any] | None:
        """Optional: small JSON data for report sections (e.g. a histogram), stored as the result's
        ``"details"`` in the record (at most 64 kB of JSON). None (the default) stores nothing."""
        return None

    # --- provided ---------------------------------------------------------------------------------
    def new_state(self) -> State:
        return State(self.state_spec())

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
