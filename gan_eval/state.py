"""Mergeable metric state: named accumulators merged by sum or by concatenation.

This is torchmetrics' ``add_state(..., dist_reduce_fx="sum"|"cat")`` idea as plain data: because every
accumulator says how it merges, the engine can merge shards, all-reduce across processes, cache a
reference on disk and resume a run without knowing anything about the metric that owns the state.

The same rule gives bootstrap resampling for any metric (``gan_eval.bootstrap``). A state built with
``blocks=K`` keeps, besides each ``sum`` total, K float64 partial sums: the engine calls
:meth:`State.begin_batch` with the global batch index before each ``update`` and the batch goes to
block ``index % K``; each ``cat`` row remembers its block. A resample is then a list of unit indices
drawn with replacement — rows of the ``cat`` accumulators for a state that has only those, blocks
otherwise — and :meth:`State.resampled` builds the state those units would have accumulated
(sums: Σ count_k · block_k; rows: gathered), so ``compute()`` runs again without the network.
Blocks persist in :meth:`to_arrays` under reserved names ``blocks/<name>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping, Sequence

import numpy as np
import torch

Reduction = Literal["sum", "cat"]

#: Prefix of the reserved array names that hold block partial sums (and rows' block numbers).
BLOCKS_PREFIX = "blocks/"


@dataclass(frozen=True)
class Units:
    """What a bootstrap resample of a state draws: ``kind`` is ``"rows"`` (every ``cat`` accumulator's
    rows, jointly), ``"blocks"`` (the K blocks) or ``"fixed"`` (nothing to resample: e.g. statistics
    loaded from a file without blocks); ``count`` units, of which ``nonempty`` hold data."""

    kind: Literal["rows", "blocks", "fixed"]
    count: int
    nonempty: int
    why: str = ""


class State:
    """A metric's accumulators. ``sum`` ones are float64 tensors; ``cat`` ones are lists of chunks."""

    def __init__(self, spec: Mapping[str, Reduction], *, blocks: int = 0):
        bad = {k: v for k, v in spec.items() if v not in ("sum", "cat")}
        if bad:
            raise ValueError(f"state reductions must be 'sum' or 'cat', got {bad}")
        reserved = [k for k in spec if k.startswith(BLOCKS_PREFIX)]
        if reserved:
            raise ValueError(f"state accumulator names may not start with {BLOCKS_PREFIX!r}: {reserved}")
        if blocks < 0 or blocks == 1:
            raise ValueError(f"blocks must be 0 (none) or at least 2, got {blocks}")
        self.spec: dict[str, Reduction] = dict(spec)
        self.blocks = int(blocks)
        self._block: int | None = None
        self._sums: dict[str, torch.Tensor | None] = {k: None for k, v in spec.items() if v == "sum"}
        self._block_sums: dict[str, torch.Tensor | None] = {k: None for k in self._sums}
        self._chunks: dict[str, list[torch.Tensor]] = {k: [] for k, v in spec.items() if v == "cat"}
        self._row_blocks: dict[str, list[torch.Tensor]] = {k: [] for k in self._chunks}
        self._units: Units | None = None  # cached by units(); any accumulation clears it

    # --- accumulation -------------------------------------------------------------------------
    def begin_batch(self, index: int) -> None:
        """Route the next adds/appends to block ``index % blocks`` (the engine calls this with the
        global batch index before each ``update``, so shards fill the same blocks as one process)."""
        if self.blocks:
            self._block = int(index) % self.blocks

    def _current_block(self) -> int:
        if self._block is None:
            raise ValueError(f"this state keeps {self.blocks} blocks: call begin_batch(batch_index) before update()")
        return self._block

    def add(self, name: str, value: torch.Tensor | float) -> None:
        """Add ``value`` (promoted to float64) to the sum accumulator ``name``."""
        self._units = None
        value = torch.as_tensor(value).to(torch.float64)
        current = self._sums[name]
        self._sums[name] = value.clone() if current is None else current + value.to(current.device)
        if self.blocks:
            block = self._current_block()
            parts = self._block_sums[name]
            if parts is None:
                parts = self._block_sums[name] = torch.zeros((self.blocks, *value.shape), dtype=torch.float64, device=value.device)
            parts[block] += value.to(parts.device)

    def append(self, name: str, rows: torch.Tensor) -> None:
        """Append rows (first dimension) to the concatenation accumulator ``name``."""
        self._units = None
        self._chunks[name].append(rows.detach())
        if self.blocks:
            self._row_blocks[name].append(torch.full((len(rows),), self._current_block(), dtype=torch.int32))

    def row_marks(self) -> dict[str, int]:
        """How many rows each ``cat`` accumulator holds now (pass to :meth:`restore_row_order`)."""
        return {name: sum(len(c) for c in chunks) for name, chunks in self._chunks.items()}

    def restore_row_order(self, marks: Mapping[str, int], order: torch.Tensor) -> None:
        """Put the rows appended since ``marks`` back in the batch's image order.

        The engine feeds a batch block by block, so row ``j`` of those rows belongs to image
        ``order[j]`` of the batch. Rows must stay in source order whatever the block count: IS
        shuffles them and KID draws subsets by position, so their values would otherwise change with
        ``--bootstrap``. An accumulator that did not get one row per image is left as it is."""
        inverse = torch.argsort(order)
        for name, before in marks.items():
            head, tail = _split_rows(self._chunks[name], before)
            if tail is None or len(tail) != len(order):
                continue
            self._units = None
            self._chunks[name] = [*head, tail.index_select(0, inverse.to(tail.device))]
            if self.blocks:
                block_head, block_tail = _split_rows(self._row_blocks[name], before)
                if block_tail is not None and len(block_tail) == len(order):
                    self._row_blocks[name] = [*block_head, block_tail.index_select(0, inverse)]

    def add_blocks(self, name: str, parts: torch.Tensor) -> None:
        """Add K partial sums (K×shape) to ``name``'s blocks *and* their sum to its total (restoring
        from arrays, merging, all-reducing)."""
        self._units = None
        parts = torch.as_tensor(parts).to(torch.float64)
        if self.blocks != len(parts):
            raise ValueError(f"state {name!r}: {len(parts)} blocks given to a state of {self.blocks} blocks")
        current = self._block_sums[name]
        self._block_sums[name] = parts.clone() if current is None else current + parts.to(current.device)
        total = parts.sum(dim=0)
        previous = self._sums[name]
        self._sums[name] = total if previous is None else previous + total.to(previous.device)

    def append_rows_with_blocks(self, name: str, rows: torch.Tensor, row_blocks: torch.Tensor) -> None:
        """Append rows whose block numbers are known (restoring, merging, gathering)."""
        self._units = None
        if len(rows) != len(row_blocks):
            raise ValueError(f"state {name!r}: {len(rows)} rows but {len(row_blocks)} block numbers")
        self._chunks[name].append(rows.detach())
        self._row_blocks[name].append(torch.as_tensor(row_blocks).to(torch.int32).cpu())

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

    def block_sums(self, name: str) -> torch.Tensor | None:
        """K×shape partial sums of the sum accumulator ``name`` (None without blocks or values)."""
        value = self._block_sums[name]
        return None if value is None else value.cpu()

    def row_blocks(self, name: str) -> torch.Tensor | None:
        """The block number of each row of the cat accumulator ``name`` (None without blocks)."""
        parts = self._row_blocks[name]
        if not parts or sum(len(p) for p in parts) != sum(len(c) for c in self._chunks[name]):
            return None
        if len(parts) > 1:
            self._row_blocks[name] = parts = [torch.cat(parts)]
        return parts[0]

    def numpy(self, name: str) -> np.ndarray | None:
        value = self.get(name)
        return None if value is None else value.numpy()

    def is_empty(self) -> bool:
        return all(v is None for v in self._sums.values()) and not any(self._chunks.values())

    # --- merging and persistence ---------------------------------------------------------------
    def merge(self, other: "State") -> "State":
        """A new state equal to accumulating this state's inputs followed by ``other``'s.

        Blocks add elementwise (shards that numbered batches globally equal one process); merging
        states with different block counts keeps no blocks."""
        if other.spec != self.spec:
            raise ValueError(f"cannot merge states with different layouts: {self.spec} vs {other.spec}")
        blocks = self.blocks if self.blocks == other.blocks and self._blocks_complete() and other._blocks_complete() else 0
        merged = State(self.spec, blocks=blocks)
        for part in (self, other):
            merged._absorb(part)
        return merged

    def _absorb(self, part: "State") -> None:
        for name, reduction in self.spec.items():
            if reduction == "sum":
                parts = part.block_sums(name) if self.blocks else None
                if parts is not None:
                    self.add_blocks(name, parts)
                elif (value := part.get(name)) is not None:
                    previous = self._sums[name]
                    self._sums[name] = value.clone() if previous is None else previous + value
            elif (rows := part.get(name)) is not None:
                row_blocks = part.row_blocks(name) if self.blocks else None
                if row_blocks is not None:
                    self.append_rows_with_blocks(name, rows, row_blocks)
                else:
                    self._chunks[name].append(rows)

    def _blocks_complete(self) -> bool:
        """Every non-empty accumulator has its blocks (so merging can keep them)."""
        if not self.blocks:
            return False
        sums_ok = all(self._block_sums[n] is not None for n, v in self._sums.items() if v is not None)
        return sums_ok and all(self.row_blocks(n) is not None for n, c in self._chunks.items() if c)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain numpy arrays (for ``.npz`` caches and checkpoints); empty accumulators are omitted.
        Blocks come as ``blocks/<name>`` (K×shape float64 for sums, int32 block numbers for rows)."""
        arrays = {name: value.numpy() for name in self.spec if (value := self.get(name)) is not None}
        if self.blocks:
            for name, reduction in self.spec.items():
                extra = self.block_sums(name) if reduction == "sum" else self.row_blocks(name)
                if extra is not None and name in arrays:
                    arrays[BLOCKS_PREFIX + name] = extra.numpy()
        return arrays

    @classmethod
    def from_arrays(cls, spec: Mapping[str, Reduction], arrays: Mapping[str, np.ndarray], *, blocks: int | None = None) -> "State":
        """The state :meth:`to_arrays` saved. Its block count comes from the sums' block arrays, or
        ``blocks`` for a state of rows only (without it, rows' block numbers are dropped: a state of
        rows is resampled by rows anyway)."""
        names = set(spec) | {BLOCKS_PREFIX + k for k in spec}
        unknown = set(arrays) - names
        if unknown:
            raise ValueError(f"unexpected arrays {sorted(unknown)} for state layout {dict(spec)}")
        block_counts = {len(v) for k, v in arrays.items() if k.startswith(BLOCKS_PREFIX) and spec[k[len(BLOCKS_PREFIX) :]] == "sum"}
        if len(block_counts) > 1:
            raise ValueError(f"block arrays disagree on the number of blocks: {sorted(block_counts)}")
        if block_counts:
            if blocks is not None and blocks != next(iter(block_counts)):
                raise ValueError(f"arrays hold {next(iter(block_counts))} blocks, not {blocks}")
            blocks = block_counts.pop()
        blocks = blocks or 0
        state = cls(spec, blocks=blocks)
        for name, value in arrays.items():
            if name.startswith(BLOCKS_PREFIX):
                continue
            tensor = torch.from_numpy(np.array(value, copy=True))
            extra = arrays.get(BLOCKS_PREFIX + name)
            if spec[name] == "sum":
                if extra is not None:
                    state.add_blocks(name, torch.from_numpy(np.array(extra, copy=True)))
                else:
                    state._sums[name] = tensor.to(torch.float64)
            elif extra is not None and blocks:
                state.append_rows_with_blocks(name, tensor, torch.from_numpy(np.array(extra, copy=True)))
            else:
                state._chunks[name].append(tensor)
        return state

    def to(self, device: torch.device | str) -> "State":
        """Move accumulators to ``device`` in place (the engine keeps them where the features are)."""
        for name, value in self._sums.items():
            if value is not None:
                self._sums[name] = value.to(device)
        for name, value in self._block_sums.items():
            if value is not None:
                self._block_sums[name] = value.to(device)
        for name, chunks in self._chunks.items():
            self._chunks[name] = [c.to(device) for c in chunks]
        return self

    # --- resampling -----------------------------------------------------------------------------
    def units(self) -> Units:
        """What a bootstrap resample of this state draws (see :class:`Units`)."""
        if self._units is None:
            self._units = self._find_units()
        return self._units

    def filled_units(self) -> np.ndarray:
        """Indices of the units that hold data (every row; the non-empty blocks)."""
        units = self.units()
        if units.kind == "rows":
            return np.arange(units.count)
        if units.kind == "fixed":
            return np.zeros(0, dtype=np.int64)
        sums = [n for n, r in self.spec.items() if r == "sum" and self._sums[n] is not None]
        cats = [n for n, r in self.spec.items() if r == "cat" and self._chunks[n]]
        return np.flatnonzero(self._filled_blocks(sums, cats))

    def _find_units(self) -> Units:
        sums = [n for n, r in self.spec.items() if r == "sum" and self._sums[n] is not None]
        cats = [n for n, r in self.spec.items() if r == "cat" and self._chunks[n]]
        if not sums and not cats:
            return Units("fixed", 0, 0, "the state is empty")
        if not sums:
            counts = {n: len(self._chunk_rows(n)) for n in cats}
            if len(set(counts.values())) > 1:
                return Units("fixed", 0, 0, f"its row accumulators have different row counts {counts}, so rows cannot be resampled jointly")
            n = counts[cats[0]]
            return Units("rows", n, n)
        if not self.blocks or any(self._block_sums[n] is None for n in sums) or any(self.row_blocks(n) is None for n in cats):
            return Units("fixed", 0, 0, "its sums were accumulated without blocks (e.g. statistics loaded from a file)")
        filled = self._filled_blocks(sums, cats)
        return Units("blocks", self.blocks, int(filled.sum()))

    def _filled_blocks(self, sums: Sequence[str], cats: Sequence[str]) -> np.ndarray:
        filled = np.zeros(self.blocks, dtype=bool)
        for name in sums:
            parts = self.block_sums(name)
            if parts is not None:
                filled |= (parts.reshape(self.blocks, -1) != 0).any(dim=1).numpy()
        for name in cats:
            row_blocks = self.row_blocks(name)
            if row_blocks is not None:
                filled[np.unique(row_blocks.numpy())] = True
        return filled

    def _chunk_rows(self, name: str) -> torch.Tensor:
        rows = self.get(name)
        assert rows is not None  # callers pass accumulators that hold rows
        return rows

    def resampled(self, unit_indices: np.ndarray, *, keep_blocks: bool = False) -> "State":
        """The state that the drawn units (indices into :meth:`units`, repeats allowed) would have
        accumulated: sums Σₖ countₖ·blockₖ and the rows of the drawn blocks, or the drawn rows.
        The result is for ``compute()``; with ``keep_blocks`` (block units only) it keeps each
        block's share, so it can be resampled again (e.g. a subset of blocks for a sample-size curve)."""
        units = self.units()
        indices = np.asarray(unit_indices, dtype=np.int64)
        if units.kind == "fixed":
            raise ValueError(f"this state cannot be resampled: {units.why}")
        if indices.size and (indices.min() < 0 or indices.max() >= units.count):
            raise ValueError(f"unit indices must lie in [0, {units.count})")
        out = State(self.spec, blocks=self.blocks if keep_blocks and units.kind == "blocks" else 0)
        if units.kind == "rows":
            index = torch.from_numpy(indices)
            for name in self._chunks:
                rows = self.get(name)
                if rows is not None:
                    out._chunks[name] = [rows[index.to(rows.device)]]
            return out
        counts = torch.from_numpy(np.bincount(indices, minlength=self.blocks).astype(np.float64))
        for name, parts in self._block_sums.items():
            if parts is not None:
                out._sums[name] = (counts.to(parts.device) @ parts.reshape(self.blocks, -1)).reshape(parts.shape[1:])
                if out.blocks:
                    out._block_sums[name] = counts.to(parts.device).reshape(-1, *[1] * (parts.ndim - 1)) * parts
        for name in self._chunks:
            rows, row_blocks = self.get(name), self.row_blocks(name)
            if rows is None or row_blocks is None:
                continue
            members = [np.flatnonzero(row_blocks.numpy() == k) for k in range(self.blocks)]
            take = np.concatenate([members[k] for k in indices]) if len(indices) else np.zeros(0, np.int64)
            out._chunks[name] = [rows[torch.from_numpy(take).to(rows.device)]]
            if out.blocks:
                out._row_blocks[name] = [row_blocks[torch.from_numpy(take)]]
        return out

    def __repr__(self) -> str:
        parts = []
        for name in self.spec:
            value = self.get(name)
            parts.append(f"{name}={'empty' if value is None else tuple(value.shape)}")
        blocks = f", blocks={self.blocks}" if self.blocks else ""
        return f"State({', '.join(parts)}{blocks})"


def _split_rows(chunks: list[torch.Tensor], before: int) -> tuple[list[torch.Tensor], torch.Tensor | None]:
    """(the chunks holding the first ``before`` rows, the rows after them as one tensor or None)."""
    total = 0
    for i, chunk in enumerate(chunks):
        if total == before:
            rest = chunks[i:]
            return chunks[:i], rest[0] if len(rest) == 1 else torch.cat([c.to(rest[0].device) for c in rest])
        if total + len(chunk) > before:  # the mark falls inside a chunk (compacted by a read mid-batch)
            whole = torch.cat([c.to(chunk.device) for c in chunks[i:]])
            return [*chunks[:i], whole[: before - total]], whole[before - total :]
        total += len(chunk)
    return chunks, None
