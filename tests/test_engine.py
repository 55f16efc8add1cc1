"""engine.run_pass: results do not depend on batch size, order or sharding; errors name the plugin."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gan_eval.engine import Shard, run_pass
from gan_eval.errors import GanEvalError, PluginError
from gan_eval.extractor import FeatureExtractor
from gan_eval.metric import Metric
from gan_eval.source import Batch, Skip, Source, SourceOptions
from gan_eval.state import State
from gan_eval_plugins.laplacian import VarianceOfLaplacian


class StackSource(Source):
    """An in-memory uint8 N×3×H×W stack; item ``i`` in ``bad`` is reported as skipped."""

    kind = "stack"

    def __init__(self, images: np.ndarray, bad: frozenset[int] = frozenset()):
        super().__init__("memory", SourceOptions())
        self.images, self.bad = images, bad

    def __len__(self):
        return len(self.images)

    def read(self, start, stop):
        keep = [i for i in range(start, stop) if i not in self.bad]
        skipped = [Skip(f"item{i}", "bad") for i in range(start, stop) if i in self.bad]
        return Batch(self.images[keep], skipped)

    def fingerprint(self):
        return "stack"

    def info(self):
        return {"kind": self.kind, "spec": self.spec, "count": len(self.images)}


class PixelStats(Metric):
    """Sum and count of pixels, plus each image's mean: one sum and one cat accumulator."""

    name = "pixels"
    primary = "mean"

    def state_spec(self):
        return {"total": "sum", "count": "sum", "image_means": "cat"}

    def update(self, state, inputs):
        images = inputs["images"].to(torch.float64)
        state.add("total", images.sum())
        state.add("count", images.numel())
        state.append("image_means", images.mean(dim=(1, 2, 3)))

    def compute(self, generated, reference):
        return {"mean": float(generated.get("total") / generated.get("count"))}


def random_images(count: int, seed: int = 0, size: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, 3, size, size), dtype=np.uint8)


def one_pass(source, batch_size=7, shard=Shard(), **kw):
    return run_pass(source, [VarianceOfLaplacian(), PixelStats()], None, batch_size=batch_size, shard=shard, **kw)


IMAGES = random_images(37)
WHOLE = one_pass(StackSource(IMAGES), batch_size=37)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 40))
def test_results_do_not_depend_on_batch_size(batch_size):
    result = one_pass(StackSource(IMAGES), batch_size=batch_size)
    assert result.count == 37
    assert torch.equal(result.states["laplacian"].get("values"), WHOLE.states["laplacian"].get("values"))
    assert result.states["pixels"].get("total").item() == WHOLE.states["pixels"].get("total").item()  # integer sums: exact


@settings(max_examples=20, deadline=None)
@given(st.permutations(range(37)), st.integers(1, 40))
def test_results_do_not_depend_on_image_order(order, batch_size):
    result = one_pass(StackSource(IMAGES[list(order)]), batch_size=batch_size)
    for metric in (VarianceOfLaplacian(), PixelStats()):
        got = metric.compute(result.states[metric.name], None)
        want = metric.compute(WHOLE.states[metric.name], None)
        assert got == pytest.approx(want, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 500), st.integers(1, 9))
def test_shards_are_contiguous_disjoint_and_cover_the_source(total, world):
    bounds = [Shard(rank, world).bounds(total) for rank in range(world)]
    assert bounds[0][0] == 0 and bounds[-1][1] == total
    assert all(lo <= hi for lo, hi in bounds)
    assert all(bounds[i][1] == bounds[i + 1][0] for i in range(world - 1))
    sizes = [hi - lo for lo, hi in bounds]
    assert max(sizes) - min(sizes) <= 1  # balanced


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 5), st.integers(1, 12))
def test_merging_shard_passes_in_rank_order_equals_one_pass(world, batch_size):
    passes = [one_pass(StackSource(IMAGES), batch_size=batch_size, shard=Shard(rank, world)) for rank in range(world)]
    assert sum(p.count for p in passes) == 37
    for name in ("laplacian", "pixels"):
        merged = passes[0].states[name]
        for part in passes[1:]:
            merged = merged.merge(part.states[name])
        for key, reduction in merged.spec.items():
            if reduction == "cat":
                assert torch.equal(merged.get(key), WHOLE.states[name].get(key))
            else:
                assert merged.get(key).item() == WHOLE.states[name].get(key).item()


def test_worker_processes_give_the_same_states():
    result = one_pass(StackSource(IMAGES), batch_size=5, workers=2)
    assert torch.equal(result.states["laplacian"].get("values"), WHOLE.states["laplacian"].get("values"))
    assert torch.equal(result.states["pixels"].get("image_means"), WHOLE.states["pixels"].get("image_means"))


def test_skipped_items_are_collected_and_counted_in_progress():
    ticks = []
    result = one_pass(StackSource(IMAGES[:10], bad=frozenset({0, 4, 5})), batch_size=3, progress=ticks.append)
    assert result.count == 7
    assert [s.item for s in result.skipped] == ["item0", "item4", "item5"]
    assert sum(ticks) == 10  # progress counts every item read, skipped or not
    assert result.states["laplacian"].get("values").shape == (7,)


def test_preview_keeps_the_first_images():
    result = one_pass(StackSource(IMAGES), batch_size=4, preview=6)
    assert result.preview.shape == (6, 3, 8, 8) and np.array_equal(result.preview, IMAGES[:6])


class CountingExtractor(FeatureExtractor):
    name = "counting"
    outputs = frozenset({"features"})
    calls = 0

    def __call__(self, images):
        CountingExtractor.calls += 1
        return {"features": images.flatten(1).to(torch.float32)}


class FeatureSum(Metric):
    primary = "sum"
    requires = frozenset({"features"})

    def state_spec(self):
        return {"sum": "sum"}

    def update(self, state, inputs):
        state.add("sum", inputs["features"].sum())

    def compute(self, generated, reference):
        return {"sum": float(generated.get("sum"))}


def test_the_extractor_runs_once_per_batch_for_all_metrics():
    first, second = type("A", (FeatureSum,), {"name": "a"})(), type("B", (FeatureSum,), {"name": "b"})()
    CountingExtractor.calls = 0
    result = run_pass(StackSource(IMAGES), [first, second], CountingExtractor(), batch_size=10)
    assert CountingExtractor.calls == 4  # 37 images in batches of 10
    assert result.states["a"].get("sum").item() == result.states["b"].get("sum").item() == float(IMAGES.astype(np.int64).sum())


class RowFeatures(FeatureExtractor):
    """Per-image features and logits; records the size of every call."""

    name = "rows"
    outputs = frozenset({"features", "logits"})

    def __init__(self, cpu_chunk=None):
        super().__init__()
        self.cpu_chunk, self.sizes = cpu_chunk, []

    def __call__(self, images):
        self.sizes.append(len(images))
        flat = images.flatten(1).to(torch.float32)
        return {"features": flat, "logits": flat[:, :5] * 2}


class KeepRows(Metric):
    name = "keep"
    primary = "n"
    requires = frozenset({"features", "logits"})

    def state_spec(self):
        return {"features": "cat", "logits": "cat"}

    def update(self, state, inputs):
        state.append("features", inputs["features"])
        state.append("logits", inputs["logits"])

    def compute(self, generated, reference):
        return {"n": len(generated.get("features"))}


def test_batches_are_split_into_the_extractors_cpu_chunks_without_changing_outputs():
    whole, chunked = RowFeatures(), RowFeatures(cpu_chunk=3)
    a = run_pass(StackSource(IMAGES), [KeepRows()], whole, batch_size=10).states["keep"]
    b = run_pass(StackSource(IMAGES), [KeepRows()], chunked, batch_size=10).states["keep"]
    assert whole.sizes == [10, 10, 10, 7]
    assert chunked.sizes == [3, 3, 3, 1] * 3 + [3, 3, 1]
    for name in ("features", "logits"):
        assert torch.equal(a.get(name), b.get(name))
    assert torch.equal(b.get("features"), torch.from_numpy(IMAGES).flatten(1).float())


def test_feature_metrics_without_an_extractor_are_refused():
    with pytest.raises(GanEvalError, match="need a feature extractor"):
        run_pass(StackSource(IMAGES), [type("A", (FeatureSum,), {"name": "a"})()], None)


def test_an_exception_in_update_names_the_plugin():
    class Broken(PixelStats):
        name = "broken"

        def update(self, state, inputs):
            raise ZeroDivisionError("oops")

    with pytest.raises(PluginError, match=r"plugin 'thirdparty': metric 'broken' failed in update\(\): ZeroDivisionError: oops"):
        run_pass(StackSource(IMAGES), [Broken()], None, plugin_of={"broken": "thirdparty"})


def test_state_holds_exact_sums_of_what_was_read():
    state: State = WHOLE.states["pixels"]
    assert state.get("count").item() == IMAGES.size
    assert state.get("total").item() == float(IMAGES.astype(np.int64).sum())


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 500), st.integers(1, 9), st.integers(1, 64))
def test_shards_cut_at_whole_batches(total, world, batch_size):
    bounds = [Shard(rank, world).bounds(total, batch_size) for rank in range(world)]
    assert bounds[0][0] == 0 and bounds[-1][1] == total
    assert all(bounds[i][1] == bounds[i + 1][0] for i in range(world - 1))
    assert all(lo % batch_size == 0 for lo, _ in bounds)  # each rank's batches are the single process's
    sizes = [hi - lo for lo, hi in bounds]
    assert max(sizes) - min(sizes) <= batch_size


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 40), st.sampled_from([2, 3, 10]))
def test_rows_stay_in_source_order_whatever_the_bootstrap_blocks(batch_size, blocks):
    """Blocks feed a batch block by block; the rows must still come out in source order (IS shuffles
    rows and KID draws subsets by position: they changed with --bootstrap before this was kept)."""
    plain = run_pass(StackSource(IMAGES), [KeepRows(), PixelStats()], RowFeatures(), batch_size=batch_size).states
    blocked = run_pass(StackSource(IMAGES), [KeepRows(), PixelStats()], RowFeatures(), batch_size=batch_size, blocks=blocks).states
    assert torch.equal(blocked["keep"].get("features"), torch.from_numpy(IMAGES).flatten(1).float())
    assert torch.equal(blocked["keep"].get("logits"), plain["keep"].get("logits"))
    assert torch.equal(blocked["pixels"].get("image_means"), plain["pixels"].get("image_means"))
    # each row still carries its own image's block: image i in block i mod K
    assert blocked["keep"].row_blocks("features").tolist() == [i % blocks for i in range(len(IMAGES))]
