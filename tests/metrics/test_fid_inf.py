"""FID∞ and IS∞: the authors' procedure (checked against an independent implementation), and the point of it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression

from gan_eval.errors import GanEvalError
from gan_eval.state import State
from gan_eval_plugins.fid import FrechetDistance
from gan_eval_plugins.fid_inf import FrechetDistanceInfinity, n_grid
from gan_eval_plugins.is_inf import InceptionScoreInfinity


def features(n, d, seed, shift=0.0, scale=1.0):
    rng = np.random.default_rng(seed)
    mixing = np.random.default_rng(99).standard_normal((d, d)) / np.sqrt(d) + np.eye(d)
    return (rng.standard_normal((n, d)) @ mixing) * scale + shift


def rows_state(rows, name="features"):
    state = State({name: "cat"})
    state.append(name, torch.from_numpy(rows))
    return state


def authors_fd(activations, mu_ref, sigma_ref):
    """As score_infinity.calculate_FID, with an exact trace term (eigenvalues of Σ₁Σ₂) instead of sqrtm."""
    mu, sigma = np.mean(activations, axis=0), np.cov(activations, rowvar=False)
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvals(sigma @ sigma_ref).real, 0, None)).sum()
    return float(np.sum((mu - mu_ref) ** 2) + np.trace(sigma) + np.trace(sigma_ref) - 2 * trace_sqrt)


def authors_fid_infinity(activations, reference, min_n, points, seed):
    """Independent transcription of calculate_FID_infinity (mchong6/FID_IS_infinity), seeded."""
    activations = activations.copy()
    mu_ref, sigma_ref = reference.mean(axis=0), np.cov(reference, rowvar=False)
    batches = np.linspace(min_n, len(activations), points).astype("int32")
    rng = np.random.RandomState(seed)
    fids = []
    for size in batches:
        rng.shuffle(activations)  # in place, cumulatively: the authors' np.random.shuffle(activations)
        fids.append(authors_fd(activations[:size], mu_ref, sigma_ref))
    reg = LinearRegression().fit(1 / batches.reshape(-1, 1), np.array(fids).reshape(-1, 1))
    return reg.predict(np.array([[0]]))[0, 0]


def authors_is_infinity(probabilities, min_n, points, seed):
    """Independent transcription of calculate_IS_infinity: one split, log of the probabilities."""
    pred = probabilities.copy()
    batches = np.linspace(min_n, len(pred), points).astype("int32")
    rng = np.random.RandomState(seed)
    scores = []
    for size in batches:
        rng.shuffle(pred)
        chunk = pred[:size]
        kl = chunk * (np.log(chunk) - np.log(np.mean(chunk, 0, keepdims=True)))
        scores.append(np.exp(np.mean(np.sum(kl, 1))))
    reg = LinearRegression().fit(1 / batches.reshape(-1, 1), np.array(scores).reshape(-1, 1))
    return reg.predict(np.array([[0]]))[0, 0]


def test_grid_is_the_authors_linspace():
    assert n_grid(50000).tolist() == np.linspace(5000, 50000, 15).astype("int32").tolist()
    assert len(n_grid(50000)) == 15 and n_grid(50000)[0] == 5000 and n_grid(50000)[-1] == 50000


def test_fid_inf_equals_an_independent_implementation_of_the_authors_procedure():
    x, y = features(3000, 4, 1, shift=0.3), features(4000, 4, 2)
    metric = FrechetDistanceInfinity(min_n=300, seed=7)
    ours = metric.compute(rows_state(x), rows_state(y))
    assert ours["fid_inf"] == pytest.approx(authors_fid_infinity(x, y, 300, 15, 7), rel=1e-10, abs=1e-10)
    assert ours["residual"] >= 0 and set(metric.details(rows_state(x), rows_state(y))) == {"n", "fid_n"}


def test_fid_inf_is_closer_to_the_large_n_value_than_fid_at_the_smallest_n():
    """FID_N is biased up by ~c/N; at d = 16 and N = 200 that bias dominates, and FID∞ removes most of it."""
    d = 16
    reference = features(20000, d, 3)
    large = FrechetDistance().compute(*(_fid_state(a) for a in (features(20000, d, 4, shift=0.1), reference)))["fid"]
    x = features(2000, d, 5, shift=0.1)
    smallest = FrechetDistance().compute(_fid_state(x[:200]), _fid_state(reference))["fid"]
    fid_inf = FrechetDistanceInfinity(min_n=200, seed=0).compute(rows_state(x), rows_state(reference))["fid_inf"]
    assert abs(fid_inf - large) < abs(smallest - large) / 3


def _fid_state(rows):
    metric = FrechetDistance()
    state = metric.new_state()
    metric.update(state, {"features": torch.from_numpy(rows)})
    return state


def test_fid_inf_needs_more_images_than_its_lower_bound():
    with pytest.raises(GanEvalError, match="min_n=5000.*lower -O fid_inf.min_n"):
        FrechetDistanceInfinity().compute(rows_state(features(100, 2, 0)), rows_state(features(100, 2, 1)))


def test_is_inf_equals_an_independent_implementation_of_the_authors_procedure():
    logits = np.random.default_rng(0).standard_normal((2500, 10)) * 2
    probabilities = torch.softmax(torch.from_numpy(logits), dim=1).numpy()
    ours = InceptionScoreInfinity(min_n=250, seed=3).compute(rows_state(logits, "logits"), None)
    assert ours["is_inf"] == pytest.approx(authors_is_infinity(probabilities, 250, 15, 3), rel=1e-10)


def test_is_inf_is_closer_to_the_large_n_value_than_is_at_the_smallest_n():
    from gan_eval_plugins.inception_score import inception_score

    rng = np.random.default_rng(1)
    centres = rng.standard_normal((100, 100)) * 3

    def logits(n):  # 100 classes: IS_N is biased low for N of a few hundred
        return torch.from_numpy(centres[rng.integers(0, 100, n)] + rng.standard_normal((n, 100)))

    large = inception_score(logits(40000), splits=1, shuffle=False)[0]
    sample = logits(3000)
    smallest = inception_score(sample[:300], splits=1, shuffle=False)[0]
    is_inf = InceptionScoreInfinity(min_n=300).compute(rows_state(sample.numpy(), "logits"), None)["is_inf"]
    assert abs(is_inf - large) < abs(smallest - large) / 2


def test_both_declare_why_they_are_not_resampled():
    for metric in (FrechetDistanceInfinity(), InceptionScoreInfinity()):
        assert metric.resampling == "none" and "15" in metric.resampling_reason
