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
        return _LoadedBatch(self.images.pin_memory(), self.skipped)


def _collate(batch: Batch) -> Batch:
    return _LoadedBatch(torch.from_numpy(np.ascontiguousarray(batch.images)), batch.skipped)


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
    source: Source, batch_size: int, shard: Shard = Shard(), workers: int = 0, pin_memory: bool = False,
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
        dataset, batch_size=None, num_workers=workers, collate_fn=_collate, pin_memory=pin_memory,
        prefetch_factor=4, persistent_workers=False,
    )
    yield from loader


def needed_inputs(metrics: Sequence[Metric]) -> set[str]:
    return set().union(*(m.requires for m in metrics)) if metrics else set()


def run_pass(
    source: Source,
    metrics: Sequence[Metric],
    extractor: FeatureExtractor | None,
    *,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
    shard: Shard = Shard(),
    workers: int | str = 0,
    progress: Callable[[int], None] | None = None,
    plugin_of: Mapping[str, str] | None = None,
    preview: int = 64,
    checkpoint: "PassCheckpoint | None" = None,
) -> PassResult:
    """Accumulate every metric's state over ``source`` (this shard's slice of it).

    ``plugin_of`` maps metric names to the plugin that provides them, so that an exception raised
    inside a metric is reported as that plugin's. With a ``checkpoint``, the pass resumes from its
    last snapshot and saves a new one every ``checkpoint.every`` batches.
    """
    device = torch.device(device)
    workers = resolve_workers(workers, device)
    needs = needed_inputs(metrics)
    wants_features = bool(needs & {"features", "logits"})
    if wants_features and extractor is None:
        raise GanEvalError("these metrics need a feature extractor but none was selected")
    states = {m.name: m.new_state() for m in metrics}
    count, skipped, kept, done = 0, [], [], 0
    snapshot = checkpoint.load(states) if checkpoint is not None else None
    if snapshot is not None:
        states, count, skipped, done = snapshot.states, snapshot.count, list(snapshot.skipped), snapshot.batches_done
        kept = [snapshot.preview] if snapshot.preview is not None else []
        for state in states.values():
            state.to(device)
        if progress is not None:
            progress(count + len(skipped))
    with torch.inference_mode():
        for batch in iter_batches(source, batch_size, shard, workers, pin_memory=device.type == "cuda", first_batch=done):
            done += 1
            skipped.extend(batch.skipped)
            if len(batch.images):
                if count < preview:
                    head = batch.images[: preview - count]  # copied: never keep the (pinned) batch alive
                    kept.append(head.numpy().copy() if isinstance(head, torch.Tensor) else head.copy())
                _update(metrics, states, _inputs(batch, device, extractor if wants_features else None), plugin_of)
                count += len(batch.images)
            if progress is not None:
                progress(len(batch.images) + len(batch.skipped))
            if checkpoint is not None and done % checkpoint.every == 0:
                checkpoint.save(Snapshot(done, count, skipped, states, _preview(kept)))
    return PassResult(states, count, skipped, _preview(kept))


def _inputs(batch: Batch, device: torch.device, extractor: FeatureExtractor | None) -> dict[str, torch.Tensor]:
    """The batch on ``device`` plus the extractor's outputs. On a GPU the copy is asynchronous from
    pinned memory and nothing here waits for the GPU, so decoding the next batch overlaps the network."""
    images = torch.as_tensor(batch.images)
    if device.type == "cuda":
        if not images.is_pinned():
            images = images.pin_memory()
        images = images.to(device, non_blocking=True)
    elif device.type != "cpu":
        images = images.to(device)
    inputs = {"images": images}
    if extractor is not None:
        inputs.update(extract(extractor, images))
    return inputs


def extract(extractor: FeatureExtractor, images: torch.Tensor) -> dict[str, torch.Tensor]:
    """The extractor's outputs for ``images``, in calls of at most ``extractor.cpu_chunk`` on a CPU."""
    chunk = extractor.cpu_chunk if images.device.type == "cpu" else None
    if not chunk or len(images) <= chunk:
        return extractor(images)
    parts = [extractor(images[i : i + chunk]) for i in range(0, len(images), chunk)]
    return {name: torch.cat([part[name] for part in parts]) for name in parts[0]}


def _update(metrics: Sequence[Metric], states: dict[str, State], inputs: dict[str, torch.Tensor], plugin_of: Mapping[str, str] | None) -> None:
    for metric in metrics:
        try:
            metric.update(states[metric.name], inputs)
        except GanEvalError:
            raise
        except Exception as exc:
            owner = (plugin_of or {}).get(metric.name, metric.name)
            raise PluginError(owner, f"metric {metric.name!r} failed in update(): {type(exc).__name__}: {exc}") from exc


def _preview(kept: list[np.ndarray]) -> np.ndarray | None:
    return np.concatenate(kept) if kept else None
