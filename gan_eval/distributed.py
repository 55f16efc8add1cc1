"""Distributed scoring under ``torchrun``: every rank reads its own slice, then the states are merged.

``torchrun --nproc-per-node N -m gan_eval score ...`` starts N processes with ``WORLD_SIZE``,
``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` set (across nodes too, through
torchrun's rendezvous). Each rank takes the contiguous slice :class:`~gan_eval.engine.Shard` gives it,
and :meth:`Session.sync_pass` merges the passes so that every rank ends up with what one process
would have accumulated:

* ``sum`` accumulators (float64) are all-reduced, so FID-like statistics merge exactly up to float64
  rounding (the addition order differs, nothing else);
* ``cat`` accumulators are gathered in rank order, padded to the longest shard and trimmed again, so
  their concatenation is the single-process order even when shards have different lengths (an odd
  count, or files skipped on one rank only);
* image counts add up and skipped-file lists are concatenated in rank order.

This works for any metric, because :class:`~gan_eval.state.State` says how each accumulator merges.
Gloo serves CPU runs and NCCL CUDA runs (each rank on ``cuda:LOCAL_RANK``). Every rank computes the
same results; only rank 0 prints and writes files (records, the reference cache).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import torch
import torch.distributed as dist

from .engine import PassResult, Shard
from .errors import GanEvalError, UsageError
from .state import BLOCKS_PREFIX, State

#: The engine keeps this many leading images of a pass for reports (``run_pass(preview=...)``).
PREVIEW = 64


@dataclass(frozen=True)
class World:
    """This process's place in a torchrun job."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def primary(self) -> bool:
        """Rank 0 prints, writes records and writes the reference cache."""
        return self.rank == 0

    @property
    def shard(self) -> Shard:
        return Shard(self.rank, self.size)


def world_from_env(env: Mapping[str, str] | None = None) -> World:
    """The world torchrun describes in the environment (a one-process world when it does not)."""
    env = os.environ if env is None else env
    try:
        size = int(env.get("WORLD_SIZE", "1"))
        rank = int(env.get("RANK", "0"))
        local_rank = int(env.get("LOCAL_RANK", str(rank)))
    except ValueError as exc:
        raise UsageError(f"torchrun environment is malformed (WORLD_SIZE/RANK/LOCAL_RANK): {exc}") from None
    if size < 1 or not 0 <= rank < size or local_rank < 0:
        raise UsageError(f"torchrun environment is inconsistent: RANK={rank}, WORLD_SIZE={size}, LOCAL_RANK={local_rank}")
    return World(rank, size, local_rank)


def requested(env: Mapping[str, str] | None = None) -> bool:
    """True when this process is one of several started by torchrun (``WORLD_SIZE`` > 1)."""
    return world_from_env(env).size > 1


def backend_for(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


class Session:
    """An initialised process group plus the merging functions scoring needs (one per process)."""

    def __init__(self, world: World, device: torch.device):
        self.world = world
        #: where collectives run: the rank's GPU for NCCL, the CPU for gloo
        self.device = device

    # --- lifecycle -----------------------------------------------------------------------------
    @classmethod
    def start(cls, device: torch.device, env: Mapping[str, str] | None = None) -> "Session":
        """Join the torchrun job (``env://`` rendezvous). ``device`` is the run's resolved device;
        for CUDA each rank is bound to ``cuda:LOCAL_RANK`` so that ``"cuda"`` means its own GPU."""
        world = world_from_env(env)
        if world.size > 1 and ("MASTER_ADDR" not in os.environ or "MASTER_PORT" not in os.environ):
            raise UsageError("WORLD_SIZE > 1 but MASTER_ADDR/MASTER_PORT are not set: start distributed runs with torchrun")
        comm_device = torch.device("cpu")
        if device.type == "cuda":
            if world.local_rank >= torch.cuda.device_count():
                raise UsageError(f"LOCAL_RANK {world.local_rank} has no GPU: this node has {torch.cuda.device_count()} (use --nproc-per-node ≤ that)")
            torch.cuda.set_device(world.local_rank)
            comm_device = torch.device("cuda", world.local_rank)
        owns_group = not dist.is_initialized()
        if owns_group:
            kwargs: dict[str, Any] = {"device_id": comm_device} if comm_device.type == "cuda" else {}
            dist.init_process_group(backend_for(device), rank=world.rank, world_size=world.size, **kwargs)
        session = cls(world, comm_device)
        session.owns_group = owns_group
        return session

    #: Whether this session created the process group (and so destroys it on close): a caller's own
    #: group, e.g. a training job's, is left as it was.
    owns_group = False

    def close(self) -> None:
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def score_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """``scoring.score`` keyword arguments for this rank: its shard, the sync, and a guard that
        lets rank 0 alone consult (and write) the reference cache."""
        return {**options, "shard": self.world.shard, "sync": self.sync_pass, "reference_guard": self.reference_pass}

    def record_extra(self) -> dict[str, Any]:
        """What the run record says about the distributed job."""
        return {"distributed": {"world_size": self.world.size, "backend": dist.get_backend() if dist.is_initialized() else None}}

    # --- merging ---------------------------------------------------------------------------------
    def sync_pass(self, result: PassResult) -> PassResult:
        """Merge this rank's pass with every other rank's: what one process would have produced."""
        mine = {
            "count": result.count,
            "skipped": result.skipped,
            "preview": 0 if result.preview is None else len(result.preview),
            "states": {name: describe_state(state) for name, state in result.states.items()},
        }
        everyone = self.gather_objects(mine)
        names = list(result.states)
        if any(list(other["states"]) != names for other in everyone):
            raise GanEvalError(f"ranks disagree on the metrics of a pass: {[list(o['states']) for o in everyone]}")
        states = {name: self.sync_state(result.states[name], [o["states"][name] for o in everyone]) for name in names}
        return PassResult(
            states=states,
            count=sum(o["count"] for o in everyone),
            skipped=[skip for o in everyone for skip in o["skipped"]],
            preview=self._sync_preview(result, [o["preview"] for o in everyone]),
        )

    def sync_state(self, state: State, layouts: list[dict[str, Any]] | None = None) -> State:
        """A new State holding every rank's accumulators merged by their reductions: the stored
        arrays (:meth:`State.to_arrays`, block partial sums included) of a ``sum`` accumulator are
        all-reduced, those of a ``cat`` one gathered in rank order."""
        if layouts is None:
            layouts = self.gather_objects(describe_state(state))
        arrays = state.to_arrays()
        names = sorted({name for layout in layouts for name in layout})
        merged: dict[str, np.ndarray] = {}
        for name in names:
            entries = [layout.get(name) for layout in layouts]
            present = [e for e in entries if e is not None]
            local = torch.from_numpy(arrays[name]) if name in arrays else None
            if state.spec[name.removeprefix(BLOCKS_PREFIX)] == "sum":
                merged[name] = self._all_reduce_sum(name, local, present).numpy()
            else:
                merged[name] = self._gather_rows(name, local, entries).numpy()
        return State.from_arrays(state.spec, merged, blocks=state.blocks or None)

    def gather_objects(self, obj: Any) -> list[Any]:
        """Picklable ``obj`` from every rank, in rank order."""
        out: list[Any] = [None] * self.world.size
        dist.all_gather_object(out, obj)
        return out

    def broadcast_object(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        box = [obj if self.world.primary else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    # --- reference pass ----------------------------------------------------------------------------
    def reference_pass(self, inner: Callable) -> Callable:
        """Wrap a ``ReferencePass`` (e.g. the reference cache) so that rank 0 alone consults it.

        Rank 0 probes ``inner`` first and broadcasts what it found, so ranks never disagree about
        what to compute (not even on nodes with different cache folders): on a full hit the states
        are broadcast; otherwise every rank computes its slice, through the synced ``run``, for the
        metrics rank 0 lacks, and only rank 0 runs ``inner`` (so only rank 0 writes the cache). After
        a partial hit rank 0's merged result (cached + computed) is broadcast too.
        """

        def wrapped(source, metrics, run):
            decision = None
            if self.world.primary:
                try:
                    decision = ("hit", inner(source, metrics, _refuse_to_run))
                except _WouldRun as wanted:
                    decision = ("run", wanted.metric_names)
            kind, payload = self.broadcast_object(decision)
            if kind == "hit":
                return payload
            subset = [m for m in metrics if m.key in payload]
            if not self.world.primary:
                result = run(source, subset)
            else:

                def run_expected(source_, asked):
                    if [m.key for m in asked] != payload:
                        raise GanEvalError(f"{source.spec}: the reference cache changed during the run; run again")
                    return run(source_, asked)

                result = inner(source, metrics, run_expected)
            if len(subset) == len(metrics):
                return result
            return self.broadcast_object(result if self.world.primary else None)

        return wrapped

    # --- collectives ---------------------------------------------------------------------------------
    def _all_reduce_sum(self, name: str, value: torch.Tensor | None, present: list[dict[str, Any]]) -> torch.Tensor:
        shapes = {tuple(e["shape"]) for e in present}
        if len(shapes) != 1:
            raise GanEvalError(f"state {name!r}: ranks hold sums of different shapes {sorted(shapes)}")
        shape = shapes.pop()
        local = torch.zeros(shape, dtype=torch.float64) if value is None else value.to(torch.float64)
        buffer = local.to(self.device, copy=True).contiguous()  # never reduce into the rank's own state
        dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
        return buffer.cpu()

    def _gather_rows(self, name: str, value: torch.Tensor | None, entries: list[dict[str, Any] | None]) -> torch.Tensor:
        present = [e for e in entries if e is not None]
        tails = {(tuple(e["shape"][1:]), e["dtype"]) for e in present}
        if len(tails) != 1:
            raise GanEvalError(f"state {name!r}: ranks hold rows of different shapes/types {sorted(tails)}")
        tail, dtype_name = tails.pop()
        dtype = getattr(torch, dtype_name)
        rows = [0 if e is None else e["shape"][0] for e in entries]
        longest = max(rows)
        wire = torch.uint8 if dtype == torch.bool else dtype  # gloo has no bool collectives
        padded = torch.zeros((longest, *tail), dtype=wire, device=self.device)
        if value is not None and len(value):
            padded[: len(value)] = value.to(self.device, wire)
        pieces = [torch.empty_like(padded) for _ in range(self.world.size)]
        dist.all_gather(pieces, padded)
        joined = torch.cat([piece[:n] for piece, n in zip(pieces, rows)]).cpu()
        return joined.to(dtype)

    def _sync_preview(self, result: PassResult, lengths: list[int]):
        """The first images of the whole set: rank 0's, topped up from later ranks when it has few."""
        if lengths[0] >= PREVIEW or len(lengths) == 1 or not any(lengths[1:]):
            return result.preview
        previews = [p for p in self.gather_objects(result.preview) if p is not None and len(p)]
        return np.concatenate(previews)[:PREVIEW] if previews else None


def describe_state(state: State) -> dict[str, dict[str, Any]]:
    """Shape and dtype of each stored array (empty accumulators are absent): what ranks exchange
    before merging."""
    return {name: {"shape": list(value.shape), "dtype": str(value.dtype)} for name, value in state.to_arrays().items()}


@contextmanager
def session_if_requested(device_name: str) -> Iterator[Session | None]:
    """A started :class:`Session` when torchrun started several processes (closed on exit), else None."""
    if not requested():
        yield None
        return
    from .scoring import resolve_device

    session = Session.start(resolve_device(device_name))
    try:
        yield session
    finally:
        session.close()


class _WouldRun(BaseException):
    """Raised by :func:`_refuse_to_run`: the wrapped reference pass wanted to compute (cache miss)."""

    def __init__(self, metric_names: list[str]):
        super().__init__(metric_names)
        self.metric_names = metric_names


def _refuse_to_run(source, metrics):
    raise _WouldRun([m.key for m in metrics])


def merge_pass_results(parts: list[PassResult]) -> PassResult:
    """Merge per-shard passes in shard order without a process group (tests, in-process sharding)."""
    names = list(parts[0].states)
    states = {}
    for name in names:
        merged = parts[0].states[name]
        for part in parts[1:]:
            merged = merged.merge(part.states[name])
        states[name] = merged
    previews = [p.preview for p in parts if p.preview is not None and len(p.preview)]
    return PassResult(
        states=states,
        count=sum(p.count for p in parts),
        skipped=[s for p in parts for s in p.skipped],
        preview=np.concatenate(previews)[:PREVIEW] if previews else None,
    )
