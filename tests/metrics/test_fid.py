"""FID: exact against the peers and scipy's sqrtm, streaming statistics, warnings and errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gan_eval.errors import GanEvalError
from gan_eval_plugins.fid import (
    FrechetDistance,
    covariance_factor,
    frechet_distance,
    moments,
    state_from_moments,
    trace_sqrt_product,
)


def gaussian_features(n, d, seed, scale=1.0, shift=0.0):
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((d, d)) / np.sqrt(d)
    return (rng.standard_normal((n, d)) @ mixing) * scale + shift + np.abs(rng.standard_normal(d))


def stats(features):
    return features.mean(axis=0), np.cov(features, rowvar=False)


def state_of(features, batch=None):
    metric = FrechetDistance()
    state = metric.new_state()
    tensor = torch.from_numpy(features)
    for chunk in tensor.split(batch or len(tensor)):
        metric.update(state, {"features": chunk})
    return state


def random_covariance(d, seed, scale=1.0):
    """A full-rank d×d covariance built cheaply (one matrix product) with a spread spectrum."""
    rng = np.random.default_rng(seed)
    factor = rng.standard_normal((d, d)) * np.linspace(0.2, 1.5, d) / np.sqrt(d)
    return scale * (factor @ factor.T + 1e-3 * np.eye(d)), rng.standard_normal(d)


@pytest.mark.slow
def test_fid_at_2048_equals_scipy_sqrtm_via_pytorch_fid():
    """pytorch-fid's calculate_frechet_distance is FID through scipy.linalg.sqrtm (the slow part of this test)."""
    from pytorch_fid.fid_score import calculate_frechet_distance

    (s1, m1), (s2, m2) = random_covariance(2048, 1), random_covariance(2048, 2, scale=1.3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = calculate_frechet_distance(m1, s1, m2, s2)
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(reference, rel=1e-6)


def test_fid_equals_torch_fidelity_and_trace_equals_sqrtm():
    from torch_fidelity.metric_fid import fid_statistics_to_metric

    (s1, m1), (s2, m2) = random_covariance(256, 3), random_covariance(256, 4, scale=0.7)
    theirs = fid_statistics_to_metric({"mu": m1, "sigma": s1}, {"mu": m2, "sigma": s2}, False)["frechet_inception_distance"]
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(theirs, rel=1e-4)
    assert trace_sqrt_product(s1, s2) == pytest.approx(np.trace(scipy.linalg.sqrtm(s1 @ s2)).real, rel=1e-9)


def test_metric_from_features_equals_peer_on_same_matrix():
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

    x, y = gaussian_features(400, 32, 3), gaussian_features(300, 32, 4, scale=0.8)
    ours = FrechetDistance().compute(state_of(x, 64), state_of(y, 100))["fid"]
    theirs = fid_statistics_to_metric(fid_features_to_statistics(torch.from_numpy(x)), fid_features_to_statistics(torch.from_numpy(y)), False)[
        "frechet_inception_distance"
    ]
    assert ours == pytest.approx(theirs, rel=1e-9)


def test_cached_factor_gives_the_same_value():
    (s1, m1), (s2, m2) = random_covariance(128, 5), random_covariance(128, 6)
    assert frechet_distance(m1, covariance_factor(s1), m2, s2) == pytest.approx(frechet_distance(m1, s1, m2, s2), rel=1e-12)


def trace_from_features(x: np.ndarray, sigma2: np.ndarray) -> float:
    """tr √(Σ₁Σ₂) through the N×N matrix C Σ₂ Cᵀ/(N−1) of the centred features C: exact for N ≤ d."""
    c = x - x.mean(axis=0)
    return float(np.sqrt(np.clip(np.linalg.eigvalsh(c @ sigma2 @ c.T / (len(x) - 1)), 0, None)).sum())


@pytest.mark.parametrize("n,d", [(20, 40), (64, 512)])
def test_singular_covariance_uses_its_rank_and_stays_exact(n, d):
    x = np.abs(gaussian_features(n, d, 5))  # N < d: rank N − 1, Cholesky fails
    y = gaussian_features(3 * d, d, 6)
    (m1, s1), (m2, s2) = stats(x), stats(y)
    factor = covariance_factor(s1)
    assert not factor.triangular and factor.factor.shape == (d, n - 1)
    np.testing.assert_allclose(factor.factor @ factor.factor.T, s1, atol=1e-12 * np.abs(s1).max())
    truth = trace_from_features(x, s2)
    assert trace_sqrt_product(s1, s2) == pytest.approx(truth, rel=1e-9)
    # Factoring the full-rank one instead leaves Σ₁'s round-off in the product: less exact (the metric avoids it)
    assert trace_sqrt_product(s2, s1) == pytest.approx(truth, rel=1e-6)
    reference = np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * truth
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(reference, rel=1e-9)


def test_the_metric_gives_the_same_value_whichever_set_is_singular():
    small, large = gaussian_features(30, 64, 8), gaussian_features(400, 64, 9, scale=0.9)
    one = FrechetDistance().compute(state_of(small), state_of(large))["fid"]
    other = FrechetDistance().compute(state_of(large), state_of(small))["fid"]
    assert one == pytest.approx(other, rel=1e-12)


def test_zero_covariance_has_a_zero_trace_term():
    (m2, s2) = stats(gaussian_features(100, 16, 10))
    m1 = np.full(16, 0.5)
    assert trace_sqrt_product(np.zeros((16, 16)), s2) == 0.0
    assert frechet_distance(m1, np.zeros((16, 16)), m2, s2) == pytest.approx(np.sum((m1 - m2) ** 2) + np.trace(s2), rel=1e-12)


def test_identical_sets_give_zero():
    x = gaussian_features(300, 16, 7)
    assert FrechetDistance().compute(state_of(x), state_of(x))["fid"] == pytest.approx(0.0, abs=1e-9)


def test_fewer_than_two_images_is_a_clear_error():
    with pytest.raises(GanEvalError, match="at least 2"):
        FrechetDistance().compute(state_of(gaussian_features(1, 8, 0)), state_of(gaussian_features(50, 8, 1)))


def test_n_not_above_dimension_warns():
    with pytest.warns(UserWarning, match=r"20 images for 32-d features"):
        FrechetDistance().compute(state_of(gaussian_features(20, 32, 0)), state_of(gaussian_features(50, 32, 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FrechetDistance().compute(state_of(gaussian_features(40, 32, 0)), state_of(gaussian_features(50, 32, 1)))


def test_dimension_mismatch_is_a_clear_error():
    with pytest.raises(GanEvalError, match="different extractors"):
        FrechetDistance().compute(state_of(gaussian_features(50, 8, 0)), state_of(gaussian_features(50, 9, 1)))


def test_non_finite_statistics_are_refused():
    mu, sigma = np.zeros(4), np.eye(4)
    with pytest.raises(ValueError, match="NaN or Inf"):
        frechet_distance(mu, sigma, np.full(4, np.nan), sigma)


def test_state_from_external_moments_round_trips():
    x, y = gaussian_features(200, 8, 0), gaussian_features(150, 8, 1)
    m2, s2 = stats(y)
    count, mu, sigma = moments(state_from_moments(m2, s2), "reference")
    assert count is None and np.array_equal(mu, m2) and np.array_equal(sigma, s2)
    from_moments = FrechetDistance().compute(state_of(x), state_from_moments(m2, s2))["fid"]
    assert from_moments == pytest.approx(FrechetDistance().compute(state_of(x), state_of(y))["fid"], rel=1e-10)


matrices = st.tuples(st.integers(10, 40), st.integers(2, 6), st.integers(0, 2**31 - 1))


@settings(max_examples=25, deadline=None)
@given(matrices, matrices)
def test_fid_is_non_negative_and_symmetric(a, b):
    d = a[1]
    x, y = gaussian_features(a[0], d, a[2]), gaussian_features(b[0], d, b[2], scale=1.5)
    (m1, s1), (m2, s2) = stats(x), stats(y)
    forward, backward = frechet_distance(m1, s1, m2, s2), frechet_distance(m2, s2, m1, s1)
    assert forward >= -1e-9
    assert forward == pytest.approx(backward, rel=1e-9, abs=1e-9)


@settings(max_examples=25, deadline=None)
@given(st.integers(4, 60), st.integers(1, 20), st.integers(1, 59), st.integers(0, 2**31 - 1))
def test_merge_and_batch_size_do_not_change_the_state(n, batch, cut, seed):
    x = gaussian_features(n, 5, seed)
    cut = min(cut, n - 1)
    whole = state_of(x)
    merged = state_of(x[:cut]).merge(state_of(x[cut:]))
    batched = state_of(x, batch)
    for name in ("count", "sum", "outer"):
        np.testing.assert_allclose(merged.numpy(name), whole.numpy(name), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(batched.numpy(name), whole.numpy(name), rtol=1e-12, atol=1e-12)


def test_the_trace_term_leaves_its_inputs_untouched():
    """LAPACK works in place: the covariances (and a cached factor) must come back unchanged."""
    (s1, _), (s2, _) = random_covariance(64, 11), random_covariance(64, 12)
    factor = covariance_factor(s1)
    copies = s1.copy(), s2.copy(), factor.factor.copy()
    first = trace_sqrt_product(s1, s2)
    assert trace_sqrt_product(factor, s2) == first
    assert all(np.array_equal(a, b) for a, b in zip(copies, (s1, s2, factor.factor)))


# --- clamping, stats validation, sample-size curve ---------------------------------------------------------
def test_fid_is_never_reported_below_zero_and_the_raw_value_is_kept():
    x = gaussian_features(300, 16, 7)
    metric = FrechetDistance()
    raw = metric.details(state_of(x), state_of(x))["raw_fid"]
    assert abs(raw) < 1e-9
    assert metric.compute(state_of(x), state_of(x))["fid"] == max(raw, 0.0) >= 0.0
    factor = np.eye(4) * 1e-3  # a tiny covariance makes round-off visible: FID of a set with itself from stats
    from gan_eval_plugins.fid import state_from_moments

    assert metric.compute(state_from_moments(np.zeros(4), factor), state_from_moments(np.zeros(4), factor))["fid"] >= 0.0


@pytest.mark.parametrize(
    "mu, sigma, message",
    [
        (np.zeros(3), np.eye(2), "must be 3×3"),
        (np.zeros((3, 1)), np.eye(3), "non-empty vector"),
        (np.array([0.0, np.nan]), np.eye(2), "mean contains NaN"),
        (np.zeros(2), np.array([[1.0, np.inf], [np.inf, 1.0]]), "covariance contains NaN"),
        (np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]), "not symmetric"),
        (np.zeros(2), np.array([[1.0, 2.0], [2.0, 1.0]]), "not positive semi-definite"),
    ],
)
def test_invalid_gaussian_statistics_are_refused_naming_where(mu, sigma, message):
    from gan_eval.errors import InputError
    from gan_eval_plugins.fid import validate_gaussian_stats

    with pytest.raises(InputError, match=message) as info:
        validate_gaussian_stats(mu, sigma, "ref.npz")
    assert info.value.where == "ref.npz"


def test_valid_statistics_pass_including_singular_ones_with_round_off():
    from gan_eval_plugins.fid import validate_gaussian_stats

    x = gaussian_features(20, 32, 3)  # N ≤ d: rank 19, round-off eigenvalues slightly below 0
    mu, sigma = stats(x)
    validate_gaussian_stats(mu, sigma, "gen.npz")
    validate_gaussian_stats(mu, sigma + 1e-12 * np.triu(np.ones_like(sigma), 1), "gen.npz")  # asymmetry at round-off


def test_the_sample_size_curve_is_on_a_log_grid_with_intervals():
    from gan_eval.state import State

    metric = FrechetDistance(curve=True, curve_resamples=30)

    def blocked(rows):
        state = State(metric.state_spec(), blocks=16)
        for i, chunk in enumerate(torch.from_numpy(rows).split(25)):
            state.begin_batch(i)
            metric.update(state, {"features": chunk})
        return state

    gen, ref = blocked(gaussian_features(800, 4, 1, shift=0.2)), blocked(gaussian_features(800, 4, 2))
    curve = metric.details(gen, ref)["curve"]
    assert curve["blocks"][0] == 2 and curve["blocks"][-1] == 16 and curve["n"][-1] == 800
    assert curve["fid"][-1] == pytest.approx(metric.compute(gen, ref)["fid"], rel=1e-12)
    assert all(n2 > n1 for n1, n2 in zip(curve["n"], curve["n"][1:]))
    for blocks, low, value, high in zip(curve["blocks"], curve["low"], curve["fid"], curve["high"]):
        assert (low is None) == (blocks < 5)
        if low is not None:
            assert low < high
    # without blocks there is no curve, and it says why
    assert "why_empty" in metric.details(state_of(gaussian_features(100, 4, 1)), state_of(gaussian_features(100, 4, 2)))["curve"]


def test_per_class_fid_is_the_mean_of_fid_within_each_class(run_cli):
    import json

    from pytorch_fid.fid_score import calculate_frechet_distance

    result = run_cli(
        "score",
        "dataset:mnist5k:test",
        "--ref",
        "dataset:mnist5k:train",
        "--limit",
        "300",
        "--limit-ref",
        "400",
        "-m",
        "fid",
        "-O",
        "fid.per_class=true",
        "--json",
        "-q",
        "--device",
        "cpu",
    )
    assert result.exit_code == 0, result.output
    (fid,) = json.loads(result.stdout)["results"]
    per_class = fid["details"]["per_class"]
    assert set(per_class) == {str(c) for c in range(10)}
    assert fid["values"]["fid_class_mean"] == pytest.approx(np.mean(list(per_class.values())), rel=1e-12)
    assert fid["values"]["fid_class_mean"] > fid["values"]["fid"]  # within a class the sets differ more than overall

    import gan_eval

    feats = gan_eval.features("dataset:mnist5k:test", extractor="mnist-cnn", limit=300)
    ref = gan_eval.features("dataset:mnist5k:train", extractor="mnist-cnn", limit=400)
    x, a = feats["outputs"]["features"].astype(np.float64), feats["labels"]
    y, b = ref["outputs"]["features"].astype(np.float64), ref["labels"]
    theirs = calculate_frechet_distance(x[a == 3].mean(0), np.cov(x[a == 3], rowvar=False), y[b == 3].mean(0), np.cov(y[b == 3], rowvar=False))
    assert per_class["3"] == pytest.approx(theirs, rel=1e-6)


def test_per_class_fid_without_labels_says_so(run_cli, tmp_path):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).integers(0, 255, (40, 28, 28), dtype=np.uint8))
    result = run_cli(
        "score", tmp_path / "x.npy", "--ref", "dataset:mnist5k:train", "--limit-ref", "50", "-m", "fid", "-O", "fid.per_class=true", "-q", "--device", "cpu"
    )
    assert result.exit_code != 0 and "per_class=true needs class labels" in result.output
