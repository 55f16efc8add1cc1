"""prdc: equal to the prdc package on the same features, its README example, bounded blocks,
clamping k with a warning, bootstrap copies, invariants and an end-to-end run."""

from __future__ import annotations

import contextlib
import io
import json
import time

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from prdc import compute_prdc

from gan_eval.errors import GanEvalError
from gan_eval.state import State
from gan_eval_plugins import prdc as prdc_module
from gan_eval_plugins.prdc import PRDC, prdc
from mnist_files import mnist_arrays

KEYS = ("precision", "recall", "density", "coverage")


def features(n, d=32, seed=0, scale=1.0, shift=0.0):
    return np.random.default_rng(seed).standard_normal((n, d)) * scale + shift


def package(real, fake, k=5):
    with contextlib.redirect_stdout(io.StringIO()):  # compute_prdc prints the set sizes
        return {key: float(v) for key, v in compute_prdc(real, fake, k).items()}


def score(generated, reference, **params):
    metric = PRDC(**params)
    gen, ref = metric.new_state(), metric.new_state()
    for part in np.array_split(generated, 4):
        metric.update(gen, {"features": torch.from_numpy(part)})
    metric.update(ref, {"features": torch.from_numpy(reference)})
    return metric.compute(gen, ref)


@pytest.mark.parametrize("k", [1, 3, 5, 10])
def test_equals_the_prdc_package(k):
    real, fake = features(400, seed=1), features(350, seed=2, scale=0.9, shift=0.15)
    ours, theirs = score(fake, real, k=k), package(real, fake, k)
    for key in KEYS:
        assert ours[key] == pytest.approx(theirs[key], abs=1e-12, rel=0), key
    assert 0 < ours["precision"] < 1  # not a degenerate case


def test_equals_the_package_on_ties_and_float32_features():
    real = features(200, d=8, seed=3)
    assert score(real, real) == pytest.approx(package(real, real), abs=1e-12)  # identical sets: every distance ties
    real32, fake32 = features(300, seed=4).astype(np.float32), features(300, seed=5, shift=0.2).astype(np.float32)
    # the metric works in float64 from the float32 rows; the package gets the same float64 values
    assert score(fake32, real32) == pytest.approx(package(real32.astype(np.float64), fake32.astype(np.float64)), abs=1e-12)


def test_real_is_the_reference_and_fake_the_generated_set():
    real, collapsed = features(300, d=2, seed=6), features(300, d=2, seed=7, scale=0.05)
    values = score(collapsed, real)
    assert values["precision"] == 1.0 and values["recall"] < 0.2 and values["coverage"] < 0.2


def test_blocks_keep_memory_bounded_and_do_not_change_the_answer(monkeypatch):
    real, fake = torch.from_numpy(features(150, seed=8)), torch.from_numpy(features(170, seed=9, shift=0.1))
    expected = prdc(real, fake)
    sizes = []
    original = prdc_module.distance_blocks

    def recording(*args, **kwargs):
        for start, block in original(*args, **kwargs):
            sizes.append(block.numel())
            yield start, block

    monkeypatch.setattr(prdc_module, "_BLOCK_ELEMENTS", 340)
    monkeypatch.setattr(prdc_module, "distance_blocks", recording)
    assert prdc(real, fake) == expected
    assert max(sizes) <= 340 and len(sizes) > 3


def test_k_not_below_the_set_size_is_clamped_with_a_warning():
    real, fake = features(40, seed=10), features(4, seed=11)
    with pytest.warns(UserWarning, match="k clamped from 5 to 3: a set has only 4 images"):
        values = score(fake, real, k=5)
    assert values == prdc(torch.from_numpy(real), torch.from_numpy(fake), 3)
    fake = features(5, seed=11)  # the package needs k + 2 rows: at k = 3 it takes 5, and agrees
    assert prdc(torch.from_numpy(real), torch.from_numpy(fake), 3) == pytest.approx(package(real, fake, 3), abs=1e-12)


def test_too_few_images_and_bad_k_are_clear_errors():
    with pytest.raises(GanEvalError, match="prdc: needs at least 2 images"):
        score(features(1), features(10))
    with pytest.raises(GanEvalError, match="prdc: k must be at least 1"):
        score(features(10), features(10), k=0)


def test_bootstrap_copies_are_not_their_own_neighbours():
    """In a row resample a copy of a row is the same image: given the origins, a row's own copies
    are left out of its neighbours (a copy at distance 0 would shrink the radius of every repeated
    row); copies of *other* rows count, as any sample point does."""
    real, fake = features(120, seed=12), features(110, seed=13, shift=0.1)
    picks = np.random.default_rng(14).integers(0, 120, 120)
    resampled = real[picks]
    distances = np.linalg.norm(resampled[:, None] - resampled[None], axis=-1)
    distances[picks[:, None] == picks[None, :]] = np.inf  # own copies and itself
    expected = np.sort(distances, axis=1)[:, 4]  # 5th nearest other row
    aware_radii = prdc_module.nearest_neighbour_radii(torch.from_numpy(resampled), 5, torch.from_numpy(picks))
    assert aware_radii.numpy() == pytest.approx(expected, rel=1e-12)
    naive = prdc(torch.from_numpy(resampled), torch.from_numpy(fake))
    aware = prdc(torch.from_numpy(resampled), torch.from_numpy(fake), reference_origin=torch.from_numpy(picks))
    assert aware["coverage"] > naive["coverage"]  # naive radii of repeated rows collapse towards 0
    state = State({"features": "cat"})
    state.append("features", torch.from_numpy(resampled))
    state.origin = picks
    gen = State({"features": "cat"})
    gen.append("features", torch.from_numpy(fake))
    assert PRDC().compute(gen, state) == aware


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(7, 40), st.integers(7, 40), st.floats(0, 3), st.integers(1, 5))
def test_precision_recall_coverage_are_fractions_and_density_is_bounded(seed, n_fake, n_real, shift, k):
    rng = np.random.default_rng(seed)
    real, fake = torch.from_numpy(rng.standard_normal((n_real, 5))), torch.from_numpy(rng.standard_normal((n_fake, 5)) + shift)
    values = prdc(real, fake, k)
    for key in ("precision", "recall", "coverage"):
        assert 0.0 <= values[key] <= 1.0
    assert 0.0 <= values["density"] <= n_real / k  # each fake is inside at most every real ball
    assert values["precision"] == 0.0 or values["density"] >= 1 / k / n_fake


@pytest.mark.slow
def test_the_readme_example_holds_within_sampling_noise():
    """prdc's README: N(0, I) in 1000-d, 10k real vs 10k fake, k = 5 → precision ≈ 0.4772, recall ≈
    0.4705, density ≈ 1.0555, coverage ≈ 0.9735. Six seeds measured here (docs/metrics/prdc.md) gave
    standard deviations 0.011, 0.012, 0.096, 0.0085; the tolerances are four of them."""
    rng = np.random.RandomState(0)
    real = rng.normal(loc=0.0, scale=1.0, size=[10000, 1000])
    fake = rng.normal(loc=0.0, scale=1.0, size=[10000, 1000])
    start = time.perf_counter()
    values = prdc(torch.from_numpy(real), torch.from_numpy(fake), 5)
    print(f"prdc 10k x 10k x 1000-d: {time.perf_counter() - start:.1f} s, {values}")
    assert values["precision"] == pytest.approx(0.4772, abs=0.045)
    assert values["recall"] == pytest.approx(0.4705, abs=0.05)
    assert values["density"] == pytest.approx(1.0555, abs=0.4)
    assert values["coverage"] == pytest.approx(0.9735, abs=0.035)


def test_end_to_end_through_the_engine(run_cli, tmp_path):
    out = tmp_path / "run.json"
    generated, reference = mnist_arrays(tmp_path)
    result = run_cli("score", generated, "--ref", reference, "--extractor", "mnist-cnn", "-m", "prdc", "-q", "--no-cache", "--out", out)
    assert result.exit_code == 0, result.output
    entry = next(r for r in json.loads(out.read_text())["results"] if r["metric"] == "prdc")
    assert entry["name"] == "prdc@mnist-cnn" and entry["params"] == {"k": 5}
    assert set(entry["values"]) == set(KEYS) and 0 < entry["values"]["coverage"] <= 1
