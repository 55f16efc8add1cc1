"""One pass over a source: read each batch once, run the extractor once, update every metric.

The pass is where batching, worker processes, device placement and sharding live, so that sources,
extractors and metrics stay simple and know nothing of each other.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .errors import GanEvalError, PluginError
from .extractor import FeatureExtractor
from .metric import Metric
from .resume import PassCheckpoint, Snapshot
from .source import Batch, Skip, Source
from .state import State
from .streams import CpuStreams, chunk_bounds, resolve_streams


@dataclass(frozen=True)
class Shard:
    """Rank ``rank`` of ``world`` takes one contiguous slice of the source (disjoint, covering)."""

    rank: int = 0
    world: int = 1

    def bounds(self, total: int, batch_size: int = 1) -> tuple[int, int]:
        """This rank's ``[start, stop)``, cut at whole batches: every rank then runs exactly the
        batches a single process would, so the extractor sees the same inputs and the features,
        hence the merged states, equal the single-process ones (not merely to float32 rounding)."""
        batches = -(-total // batch_size)
        start = batches * self.rank // self.world * batch_size
        stop = batches * (self.rank + 1) // self.world * batch_size
        return min(start, total), min(stop, total)


@dataclass
class PassResult:
    """What one pass produced: a state per metric, how many images were used, what was skipped."""

    states: dict[str, State]
    count: int
    skipped: list[Skip] = field(default_factory=list)
    #: The first images of the pass (uint8 N×3×H×W, at most ``preview`` of them) for reports.
    preview: np.ndarray | None = None


class _BatchRanges(Dataset):
    """Dataset whose item ``i`` is the ``i``-th batch of a slice of a source (read in a worker)."""

    def __init__(self, source: Source, start: int, stop: int, batch_size: int):
        self.source, self.start, self.stop, self.batch_size = source, start, stop, batch_size

    def __len__(self) -> int:
        return -(-(self.stop - self.start) // self.batch_size)

    def __getitem__(self, index: int) -> Batch:
        lo = self.start + index * self.batch_size
        return self.source.read(lo, min(lo + self.batch_size, self.stop))


class _LoadedBatch(Batch):
    """A batch as a DataLoader worker hands it over: images as a tensor (passed through shared memory
    rather than pickled), pinned by the loader's pinning thread when a GPU runs the network."""

    def pin_memory(self) -> "_LoadedBatch":
        return _LoadedBatch(self.images.pin_memory(), self.skipped, self.labels, self.outputs, self.outputs_of)  # type: ignore[attr-defined]  # a tensor here


def _collate(batch: Batch) -> Batch:
    return _LoadedBatch(torch.from_numpy(np.ascontiguousarray(batch.images)), batch.skipped, batch.labels, batch.outputs, batch.outputs_of)  # type: ignore[arg-type]


def resolve_workers(workers: int | str, device: torch.device | str = "cpu") -> int:
    """Decoding processes for ``workers`` (a count or ``"auto"``).

    ``auto``: none on CPU, where the network needs every core and decoding costs a few percent; on a
    GPU up to 4 per GPU process (``LOCAL_WORLD_SIZE`` of them under torchrun), one core left over.
    """
    if workers != "auto":
        return int(workers)
    if torch.device(device).type == "cpu":
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    per_process = cores // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    return max(0, min(4, per_process - 1))


def iter_batches(
    source: Source,
    batch_size: int,
    shard: Shard = Shard(),
    workers: int = 0,
    pin_memory: bool = False,
    first_batch: int = 0,
) -> Iterator[Batch]:
    """Batches of this shard's slice, in order, from batch ``first_batch`` on (to resume); decoded in
    ``workers`` processes when > 0."""
    start, stop = shard.bounds(len(source), batch_size)
    dataset = _BatchRanges(source, min(start + first_batch * batch_size, stop), stop, batch_size)
    if workers <= 0:
        for index in range(len(dataset)):
            yield dataset[index]
        return
    loader = DataLoader(
        dataset,
        batch_size=None,
        num_workers=workers,
        collate_fn=_collate,  # type: ignore[arg-type]  # our batches, not lists
        pin_memory=pin_memory,
        prefetch_factor=4,
        persistent_workers=False,
    )
    yield from loader


@dataclass(frozen=True, eq=False)
class Bound:
    """A metric instance bound to the extractor that feeds it (None: it reads images only).

    ``key`` names its state and its result: ``fid@inception`` for a bound metric, ``laplacian`` for
    one that reads images. One run may hold the same metric bound to several extractors.
    """

    key: str
    metric: Metric
    extractor: FeatureExtractor | None = None


def bind(metrics: Sequence["Metric | Bound"], extractor: FeatureExtractor | None = None) -> list[Bound]:
    """Bindings for ``metrics``; a bare :class:`Metric` is bound to ``extractor`` when it needs one
    and keyed by its own name (the single-extractor form of :func:`run_pass`)."""
    return [m if isinstance(m, Bound) else Bound(m.name, m, extractor if m.requires & FEATURE_INPUTS else None) for m in metrics]


#: Inputs that come from a feature extractor rather than from the images themselves.
FEATURE_INPUTS = frozenset({"features", "logits"})


def needed_inputs(metrics: Sequence["Metric | Bound"]) -> set[str]:
    return set().union(*((m.metric if isinstance(m, Bound) else m).requires for m in metrics)) if metrics else set()


def run_pass(
    source: Source,
    metrics: Sequence["Metric | Bound"],
    extractor: FeatureExtractor | None = None,
    *,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
    shard: Shard = Shard(),
    workers: int | str = 0,
    progress: Callable[[int], None] | None = None,
    plugin_of: Mapping[str, str] | None = None,
    preview: int = 64,
    checkpoint: "PassCheckpoint | None" = None,
    blocks: int = 0,
    cpu_streams: int | str = "auto",
) -> PassResult:
    """Accumulate every bound metric's state over ``source`` (this shard's slice of it).

    ``metrics`` are :class:`Bound` metrics (each names its extractor), or bare metrics that share
    ``extractor``. Each batch is read once and each distinct extractor runs once on it, however many
    metrics use it. ``plugin_of`` maps state keys to the plugin that provides the metric, so that an
    exception raised inside a metric is reported as that plugin's. With a ``checkpoint``, the pass
    resumes from its last snapshot and saves a new one every ``checkpoint.every`` batches. With
    ``blocks`` > 1 every state keeps that many per-block partial sums (batch i goes to block i mod K),
    from which bootstrap intervals resample without a second pass (gan_eval/bootstrap.py).
    ``cpu_streams``: how many single-threaded calls of a thread-safe extractor run at once on a CPU
    (gan_eval/streams.py; ``auto``: torch's thread count).
    """
    device = torch.device(device)
    workers = resolve_workers(workers, device)
    bound = bind(metrics, extractor)
    missing = [b.key for b in bound if b.metric.requires & FEATURE_INPUTS and b.extractor is None]
    if missing:
        raise GanEvalError(f"metric(s) {', '.join(missing)} need a feature extractor but none was selected")
    states = {b.key: b.metric.new_state(blocks) for b in bound}
    count, skipped, kept, done = 0, [], [], 0
    snapshot = checkpoint.load(states) if checkpoint is not None else None
    if snapshot is not None:
        states, count, skipped, done = snapshot.states, snapshot.count, list(snapshot.skipped), snapshot.batches_done
        kept = [snapshot.preview] if snapshot.preview is not None else []
        for state in states.values():
            state.to(device)
        if progress is not None:
            progress(count + len(skipped))
    shard_start = shard.bounds(len(source), batch_size)[0]
    with torch.inference_mode(), CpuStreams(resolve_streams(cpu_streams, device)) as streams:
        for batch in iter_batches(source, batch_size, shard, workers, pin_memory=device.type == "cuda", first_batch=done):
            done += 1
            skipped.extend(batch.skipped)
            if len(batch.images):
                if count < preview:
                    head = batch.images[: preview - count]  # copied: never keep the (pinned) batch alive
                    kept.append(head.numpy().copy() if isinstance(head, torch.Tensor) else head.copy())
                accumulate(bound, states, batch, device, plugin_of, first_index=shard_start + (done - 1) * batch_size, streams=streams)
                count += len(batch.images)
            if progress is not None:
                progress(len(batch.images) + len(batch.skipped))
            if checkpoint is not None and done % checkpoint.every == 0:
                checkpoint.save(Snapshot(done, count, skipped, states, _preview(kept)))
    return PassResult(states, count, skipped, _preview(kept))


def accumulate(
    bound: Sequence[Bound],
    states: Mapping[str, State],
    batch: Batch,
    device: torch.device,
    plugin_of: Mapping[str, str] | None = None,
    first_index: int = 0,
    streams: CpuStreams | None = None,
) -> None:
    """Update every bound metric's state with one batch: the images on ``device``, each distinct
    extractor's outputs computed once, and the batch's labels when the source knows them.
    ``first_index`` (the position of the batch's first image in the whole source) assigns images to
    the bootstrap blocks of states that keep them (:func:`by_block`)."""
    images = to_device(torch.as_tensor(batch.images), device)
    shared: dict[str, torch.Tensor] = {"images": images}
    if batch.labels is not None:
        shared["labels"] = torch.as_tensor(batch.labels, dtype=torch.int64).to(device)
    outputs: dict[int, dict[str, torch.Tensor]] = {}
    for b in bound:
        if b.extractor is not None and id(b.extractor) not in outputs:
            if batch.outputs is not None:  # outputs computed earlier (features: files): never re-run
                if b.extractor.name != batch.outputs_of:
                    raise GanEvalError(f"the input holds {batch.outputs_of} features, not {b.extractor.name}'s: {b.key} cannot use them")
                outputs[id(b.extractor)] = {name: torch.as_tensor(value).to(device) for name, value in batch.outputs.items()}
            else:
                outputs[id(b.extractor)] = extract(b.extractor, images, streams)
    for b in bound:
        inputs = {**shared, **outputs[id(b.extractor)]} if b.extractor is not None else shared
        state = states[b.key]
        try:
            marks = state.row_marks() if state.blocks > 1 else None
            for block, part in by_block(inputs, first_index, state.blocks):
                state.begin_batch(block)
                b.metric.update(state, part)
            if marks is not None:
                state.restore_row_order(marks, block_layout(len(images), first_index, state.blocks)[0])
        except GanEvalError:
            raise
        except Exception as exc:
            owner = (plugin_of or {}).get(b.key, b.metric.name)
            raise PluginError(owner, f"metric {b.metric.name!r} failed in update(): {type(exc).__name__}: {exc}") from exc


def by_block(inputs: Mapping[str, torch.Tensor], first_index: int, blocks: int) -> Iterator[tuple[int, dict[str, torch.Tensor]]]:
    """The batch split by bootstrap block: image ``first_index + i`` goes to block ``(first_index + i) % blocks``.

    Blocks are interleaved sets of images chosen by their position in the source alone, so they hold
    the same images whatever the batch size, worker count or sharding, and even a small set fills
    every block. Without blocks the batch is one part. :func:`accumulate` puts the rows that ``cat``
    accumulators received back in source order afterwards (:meth:`State.restore_row_order`)."""
    count = len(inputs["images"])
    if blocks <= 1 or count == 0:
        yield 0, dict(inputs)
        return
    order, sizes = block_layout(count, first_index, blocks)
    ordered = {name: value.index_select(0, order.to(value.device)) for name, value in inputs.items()}
    start = 0
    for block, size in enumerate(sizes):
        if size:
            yield block, {name: value[start : start + size] for name, value in ordered.items()}
        start += size


def block_layout(count: int, first_index: int, blocks: int) -> tuple[torch.Tensor, list[int]]:
    """(the order :func:`by_block` feeds a batch's images in: block by block, source order within
    each; how many of them each block gets)."""
    residues = torch.arange(first_index, first_index + count) % blocks
    return torch.argsort(residues, stable=True), torch.bincount(residues, minlength=blocks).tolist()


def to_device(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``images`` on ``device``. On a GPU the copy is asynchronous from pinned memory and nothing here
    waits for the GPU, so decoding the next batch overlaps the network."""
    if device.type == "cuda":
        if not images.is_pinned():
            images = images.pin_memory()
        return images.to(device, non_blocking=True)
    if images.device != device:
        return images.to(device)
    return images


def extract(extractor: FeatureExtractor, images: torch.Tensor, streams: CpuStreams | None = None) -> dict[str, torch.Tensor]:
    """The extractor's outputs for ``images``, in calls of at most ``extractor.cpu_chunk`` on a CPU,
    run side by side on ``streams`` when the extractor is ``thread_safe``."""
    chunk = extractor.cpu_chunk if images.device.type == "cpu" else None
    runner = streams if streams is not None and extractor.thread_safe else _SERIAL
    if not chunk or (len(images) <= chunk and runner.count == 1):
        return extractor(images)
    parts = runner.map(lambda b: extractor(images[b[0] : b[1]]), chunk_bounds(len(images), chunk, runner.count))
    return {name: torch.cat([part[name] for part in parts]) for name in parts[0]}


_SERIAL = CpuStreams(1)


def _preview(kept: list[np.ndarray]) -> np.ndarray | None:
    return np.concatenate(kept) if kept else None
