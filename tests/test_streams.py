"""CPU streams (gan_eval/streams.py): thread-safe extractors' chunks run side by side, single-threaded,
with the same outputs in the same order; everything else is called as before."""

from __future__ import annotations

import threading

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gan_eval import numerics
from gan_eval.engine import run_pass
from gan_eval.errors import UsageError
from gan_eval.extractor import FeatureExtractor
from gan_eval.streams import CpuStreams, chunk_bounds, resolve_streams
from test_engine import IMAGES, KeepRows, StackSource


@settings(max_examples=300, deadline=None)
@given(total=st.integers(0, 300), chunk=st.integers(1, 20), streams=st.integers(1, 6))
def test_chunk_bounds_cover_every_image_once_within_the_chunk_size(total, chunk, streams):
    bounds = chunk_bounds(total, chunk, streams)
    assert [i for start, stop in bounds for i in range(start, stop)] == list(range(total))
    sizes = [stop - start for start, stop in bounds]
    assert all(0 < size <= chunk for size in sizes)
    if streams > 1 and bounds:
        assert max(sizes) - min(sizes) <= 1  # no stream waits on a larger last call
        assert len(bounds) % streams == 0 or len(bounds) == total  # every stream gets as many calls
    if streams == 1:
        assert sizes[:-1] == [chunk] * (len(sizes) - 1)  # the remainder last, as without streams


def test_a_batch_of_64_in_chunks_of_8_on_2_streams_is_8_calls_of_8():
    assert chunk_bounds(64, 8, 2) == [(i, i + 8) for i in range(0, 64, 8)]
    assert chunk_bounds(8, 8, 2) == [(0, 4), (4, 8)]  # a small batch still keeps both cores busy


def test_auto_is_torchs_thread_count_on_a_cpu_and_one_stream_elsewhere():
    assert resolve_streams("auto", "cpu") == torch.get_num_threads()
    assert resolve_streams(3, "cpu") == 3
    assert resolve_streams("auto", "cuda") == resolve_streams(4, "cuda") == 1
    assert resolve_streams("2", "cpu") == 2  # as the CLI and environment give it


@pytest.mark.parametrize("bad", [0, -1, "two", 2.5, True, None])
@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_a_bad_stream_count_is_a_usage_error_on_every_device(bad, device):
    with pytest.raises(UsageError, match="cpu_streams must be a whole number ≥ 1 or 'auto'"):
        resolve_streams(bad, device)


class ThreadRecorder(FeatureExtractor):
    """Per-image features; records, for each call, its size, thread, torch thread count, numerics mode."""

    name = "threads"
    outputs = frozenset({"features", "logits"})
    cpu_chunk = 3

    def __init__(self, thread_safe: bool):
        super().__init__()
        self.thread_safe = thread_safe  # type: ignore[misc]  # the class default is False
        self.calls: list[tuple[int, str, int, str, bool]] = []
        self._lock = threading.Lock()

    def __call__(self, images):
        with self._lock:
            self.calls.append((len(images), threading.current_thread().name, torch.get_num_threads(), numerics.current(), torch.is_inference_mode_enabled()))
        flat = images.flatten(1).to(torch.float32)
        return {"features": flat, "logits": flat[:, :5] * 2}


def test_thread_safe_extractors_run_single_threaded_streams_with_unchanged_outputs():
    serial, streamed = ThreadRecorder(thread_safe=False), ThreadRecorder(thread_safe=True)
    before = torch.get_num_threads()
    a = run_pass(StackSource(IMAGES), [KeepRows()], serial, batch_size=10, cpu_streams=2).states["keep"]
    with numerics.numerics("fast"):
        b = run_pass(StackSource(IMAGES), [KeepRows()], streamed, batch_size=10, cpu_streams=2).states["keep"]
    for name in ("features", "logits"):
        assert torch.equal(a.get(name), b.get(name))  # same rows, same order
    assert torch.equal(b.get("features"), torch.from_numpy(IMAGES).flatten(1).float())
    # not thread-safe: every call in the caller's thread, chunks as without streams
    assert {c[1] for c in serial.calls} == {threading.current_thread().name}
    assert [c[0] for c in serial.calls] == [3, 3, 3, 1] * 3 + [3, 3, 1]
    # thread-safe: calls of ≤ 3 on the stream threads, each with one torch thread, in the caller's
    # numerics mode and in inference mode; 10 images → 4 calls (a multiple of 2) of 3, 3, 2, 2
    assert all(c[1].startswith("gan-eval-stream") and c[2] == 1 and c[3] == "fast" and c[4] for c in streamed.calls)
    assert sorted(c[0] for c in streamed.calls) == sorted([3, 3, 2, 2] * 3 + [2, 2, 2, 1])
    assert torch.get_num_threads() == before  # the caller's own setting is untouched


def test_an_exception_in_a_stream_reaches_the_caller():
    class Broken(ThreadRecorder):
        def __call__(self, images):
            raise RuntimeError(f"bad call of {len(images)}")

    with pytest.raises(RuntimeError, match="bad call"):
        run_pass(StackSource(IMAGES), [KeepRows()], Broken(thread_safe=True), batch_size=10, cpu_streams=2)


def test_streams_map_keeps_the_input_order():
    with CpuStreams(2) as streams:
        assert streams.map(lambda x: x * x, list(range(50))) == [x * x for x in range(50)]
