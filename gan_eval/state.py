"""Mergeable metric state: named accumulators merged by sum or by concatenation.

This is torchmetrics' ``add_state(..., dist_reduce_fx="sum"|"cat")`` idea as plain data: because every
accumulator says how it merges, the engine can merge shards, all-reduce across processes, cache a
reference on disk and resume a run without knowing anything about the metric that owns the state.
"""

from __future__ import annotations

from typing import Literal, Mapping

import numpy as np
import torch

Reduction = Literal["sum", "cat"]


class State:
    """A metric's accumulators. ``sum`` ones are float64 tensors; ``cat`` ones are lists of chunks."""

    def __init__(self, spec: Mapping[str, Reduction]):
        bad = {k: v for k, v in spec.items() if v not in ("sum", "cat")}
        if bad:
            raise ValueError(f"state reductions must be 'sum' or 'cat', got {bad}")
        self.spec: dict[str, Reduction] = dict(spec)
        self._sums: dict[str, torch.Tensor | None] = {k: None for k, v in spec.items() if v == "sum"}
        self._chunks: dict[str, list[torch.Tensor]] = {k: [] for k, v in spec.items() if v == "cat"}

    # --- accumulation -------------------------------------------------------------------------
    def add(self, name: str, value: torch.Tensor | float) -> None:
        """Add ``value`` (promoted to float64) to the sum accumulator ``name``."""
        value = torch.as_tensor(value).to(torch.float64)
        current = self._sums[name]
        self._sums[name] = value.clone() if current is None else current + value.to(current.device)

    def append(self, name: str, rows: torch.Tensor) -> None:
        """Append rows (first dimension) to the concatenation accumulator ``name``."""
        self._chunks[name].append(rows.detach())

    # --- reading ------------------------------------------------------------------------------
    def get(self, name: str) -> torch.Tensor | None:
        """The accumulated tensor on the CPU (None for a sum that never received a value)."""
        if self.spec[name] == "sum":
            value = self._sums[name]
            return None if value is None else value.cpu()
        chunks = self._chunks[name]
        if not chunks:
            return None
        if len(chunks) > 1:  # compact, so repeated reads and pickling stay cheap
            self._chunks[name] = chunks = [torch.cat([c.cpu() for c in chunks])]
        return chunks[0].cpu()

    def numpy(self, name: str) -> np.ndarray | None:
        value = self.get(name)
        return None if value is None else value.numpy()

    def is_empty(self) -> bool:
        return all(v is None for v in self._sums.values()) and not any(self._chunks.values())

    # --- merging and persistence ---------------------------------------------------------------
    def merge(self, other: "State") -> "State":
        """A new state equal to accumulating this state's inputs followed by ``other``'s."""
        if other.spec != self.spec:
            raise ValueError(f"cannot merge states with different layouts: {self.spec} vs {other.spec}")
        merged = State(self.spec)
        for name, reduction in self.spec.items():
            for part in (self, other):
                value = part.get(name)
                if value is None:
                    continue
                if reduction == "sum":
                    merged.add(name, value)
                else:
                    merged.append(name, value)
        return merged

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain numpy arrays (for ``.npz`` caches and checkpoints); empty accumulators are omitted."""
        return {name: value.numpy() for name in self.spec if (value := self.get(name)) is not None}

    @classmethod
    def from_arrays(cls, spec: Mapping[str, Reduction], arrays: Mapping[str, np.ndarray]) -> "State":
        state = cls(spec)
        unknown = set(arrays) - set(spec)
        if unknown:
            raise ValueError(f"unexpected arrays {sorted(unknown)} for state layout {dict(spec)}")
        for name, value in arrays.items():
            tensor = torch.from_numpy(np.array(value, copy=True))
            if spec[name] == "sum":
                state.add(name, tensor)
            else:
                state.append(name, tensor)
        return state

    def to(self, device: torch.device | str) -> "State":
        """Move accumulators to ``device`` in place (the engine keeps them where the features are)."""
        for name, value in self._sums.items():
            if value is not None:
                self._sums[name] = value.to(device)
        for name, chunks in self._chunks.items():
            self._chunks[name] = [c.to(device) for c in chunks]
        return self

    def __repr__(self) -> str:
        parts = []
        for name in self.spec:
            value = self.get(name)
            parts.append(f"{name}={'empty' if value is None else tuple(value.shape)}")
        return f"State({', '.join(parts)})"
