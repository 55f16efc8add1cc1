"""CPU streams: an extractor's chunks of a batch run side by side, one single-threaded call per core.

On a CPU the engine already calls an extractor with at most ``cpu_chunk`` images at a time. With
streams, those chunks go to ``count`` worker threads, each running torch with one intra-op thread,
instead of one chunk after another with ``count`` threads inside every operator. Measured on the
2-core AVX2 machine of docs/performance.md (calls of 8 images, same process, interleaved): the
exact Inception network 1.24–1.25× faster, DINOv2 ViT-S/14 1.25×, fast-mode Inception 1.00×.
A single-threaded operator needs no barrier and keeps its working set in one core's caches; a
two-thread one synchronises inside each of the ~100 layers and splits small layers badly.

Outputs: every chunk is computed in one thread, whatever the machine's core count, so a stream's
features do not depend on the number of threads either. For Inception in exact mode they equal
torch-fidelity's network run with one thread bit for bit; a run with several threads per operator
(``--cpu-streams 1`` on a multi-core CPU, or torch-fidelity itself) rounds differently, ~4e-5
absolute in the features. DINOv2 and fast-mode Inception give the same bits either way.

Only extractors that declare ``thread_safe`` (no state changed during a call) get streams;
GPUs never do (one stream of kernels already keeps them busy).
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch

from .errors import UsageError

AUTO = "auto"
T = TypeVar("T")
R = TypeVar("R")


def resolve_streams(streams: int | str, device: torch.device | str = "cpu") -> int:
    """How many streams a pass on ``device`` uses: ``auto`` is torch's intra-op thread count on a
    CPU (what ``OMP_NUM_THREADS`` / ``torch.set_num_threads`` say; 1 per process under torchrun)
    and 1 elsewhere; a count is taken as given on a CPU. Anything else is a :class:`UsageError`,
    on every device (the CLI refuses it earlier, the Python API here)."""
    count = None if streams == AUTO else _stream_count(streams)
    if torch.device(device).type != "cpu":
        return 1
    return max(1, torch.get_num_threads()) if count is None else count


def _stream_count(streams: object) -> int:
    try:
        count = int(streams)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        count = 0
    if count < 1 or isinstance(streams, bool) or (isinstance(streams, float) and not streams.is_integer()):
        raise UsageError(f"cpu_streams must be a whole number ≥ 1 or 'auto', got {streams!r}")
    return count


def chunk_bounds(total: int, chunk: int, streams: int = 1) -> list[tuple[int, int]]:
    """``[start, stop)`` of each call for ``total`` images, at most ``chunk`` images per call. One
    stream: calls of ``chunk`` and the remainder last (a prepacked kernel keeps its batch size).
    Several: the number of calls a multiple of ``streams`` where there are enough images, sizes
    within one of each other, so every stream gets the same work and none idles at a batch's end."""
    if total <= 0:
        return []
    if streams <= 1:
        return [(start, min(start + chunk, total)) for start in range(0, total, chunk)]
    calls = min(total, math.ceil(math.ceil(total / chunk) / streams) * streams)
    base, extra = divmod(total, calls)
    bounds, start = [], 0
    for index in range(calls):
        stop = start + base + (index < extra)
        bounds.append((start, stop))
        start = stop
    return bounds


def _single_threaded() -> None:
    torch.set_num_threads(1)  # per thread: the calling thread keeps its own count


class CpuStreams:
    """``count`` worker threads that each run torch single-threaded; :meth:`map` keeps input order.

    Calls run in a copy of the caller's context (context variables such as the numerics mode) and
    under ``torch.inference_mode`` (a thread-local setting the worker would not inherit). The threads
    start at the first :meth:`map`, after a pass's DataLoader has forked its decoding processes."""

    def __init__(self, count: int):
        self.count = count
        self._pool: ThreadPoolExecutor | None = None

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if self.count < 2 or len(items) < 2:
            return [fn(item) for item in items]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.count, thread_name_prefix="gan-eval-stream", initializer=_single_threaded)
        context = contextvars.copy_context()

        def call(item: T) -> R:
            with torch.inference_mode():
                return context.copy().run(fn, item)

        return list(self._pool.map(call, items))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> "CpuStreams":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
