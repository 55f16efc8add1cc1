"""CMMD: equal to the authors' formula (google-research cmmd/distance.py) computed independently in
numpy float64, the unbiased variant, blocking, invariants, parameters and an end-to-end run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gan_eval.errors import GanEvalError, UsageError
from gan_eval_plugins import cmmd as cmmd_module
from gan_eval_plugins.cmmd import CMMD, mmd2_rbf
from mnist_files import mnist_arrays


def embeddings(n, d=64, seed=0, shift=0.0, normalise=True):
    """CLIP-like rows: Gaussian, optionally shifted, scaled to unit length like CLIP embeddings."""
    x = np.random.default_rng(seed).standard_normal((n, d)) + shift
    return x / np.linalg.norm(x, axis=1, keepdims=True) if normalise else x


def authors_formula(x, y, sigma=10.0, scale=1000.0):
    """The authors' mmd(x, y) transcribed to numpy float64: full kernel matrices, every mean over
    the whole matrix (diagonal included), squared norms from the diagonal of x xᵀ."""
    gamma = 1 / (2 * sigma**2)
    x_sq, y_sq = np.diag(x @ x.T), np.diag(y @ y.T)
    k_xx = np.mean(np.exp(-gamma * (-2 * x @ x.T + x_sq[:, None] + x_sq[None, :])))
    k_xy = np.mean(np.exp(-gamma * (-2 * x @ y.T + x_sq[:, None] + y_sq[None, :])))
    k_yy = np.mean(np.exp(-gamma * (-2 * y @ y.T + y_sq[:, None] + y_sq[None, :])))
    return scale * (k_xx + k_yy - 2 * k_xy)


def unbiased_formula(x, y, sigma=10.0, scale=1000.0):
    """Gretton et al.'s unbiased MMD²_u from pairwise squared distances (scipy-free, float64)."""

    def kernel(a, b):
        return np.exp(-((a[:, None, :] - b[None, :, :]) ** 2).sum(-1) / (2 * sigma**2))

    n, m = len(x), len(y)
    k_xx, k_yy = kernel(x, x), kernel(y, y)
    within = (k_xx.sum() - np.trace(k_xx)) / (n * (n - 1)) + (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return scale * (within - 2 * kernel(x, y).mean())


def score(x, y, **params):
    metric = CMMD(**params)
    gen, ref = metric.new_state(), metric.new_state()
    for part in np.array_split(x, 3):  # several batches, as the engine feeds them
        metric.update(gen, {"features": torch.from_numpy(part)})
    metric.update(ref, {"features": torch.from_numpy(y)})
    return metric.compute(gen, ref)["cmmd"]


@pytest.mark.parametrize("normalise, sigma", [(True, 10.0), (False, 10.0), (False, 3.0)])
def test_equals_the_authors_formula(normalise, sigma):
    x = embeddings(210, seed=1, shift=0.2, normalise=normalise)
    y = embeddings(180, seed=2, normalise=normalise)
    expected = authors_formula(x, y, sigma)
    assert expected > 1e-3  # the sets differ: a real, non-trivial value
    assert score(x, y, sigma=sigma) == pytest.approx(expected, abs=1e-10, rel=0)


def test_unbiased_estimator_equals_the_reference_formula():
    x, y = embeddings(150, seed=3, shift=0.1, normalise=False), embeddings(170, seed=4, normalise=False)
    assert score(x, y, estimator="unbiased") == pytest.approx(unbiased_formula(x, y), abs=1e-10, rel=0)
    # the two estimators differ by the diagonal terms: biased − unbiased is O(1/n), here clearly not zero
    assert abs(score(x, y) - score(x, y, estimator="unbiased")) > 1e-3


def test_blocks_do_not_change_the_value(monkeypatch):
    x, y = embeddings(97, seed=5, shift=0.3), embeddings(101, seed=6)
    whole = mmd2_rbf(torch.from_numpy(x), torch.from_numpy(y))
    unbiased = mmd2_rbf(torch.from_numpy(x), torch.from_numpy(y), estimator="unbiased")
    monkeypatch.setattr(cmmd_module, "_BLOCK_ELEMENTS", 150)  # blocks of one row
    assert mmd2_rbf(torch.from_numpy(x), torch.from_numpy(y)) == pytest.approx(whole, abs=1e-13)  # summation order only
    assert mmd2_rbf(torch.from_numpy(x), torch.from_numpy(y), estimator="unbiased") == pytest.approx(unbiased, abs=1e-13)


def test_scale_and_identical_sets():
    x = embeddings(80, seed=7)
    assert score(x, x) == pytest.approx(0.0, abs=1e-12)
    y = embeddings(90, seed=8, shift=0.5)
    assert score(x, y, scale=1.0) * 1000 == pytest.approx(score(x, y), rel=1e-12)


def test_unbiased_estimator_is_centred_on_zero_for_one_distribution():
    """Over many pairs of samples of one distribution the unbiased mean is zero within its standard
    error, while the biased (authors') one sits above zero by the diagonal terms."""
    rng = np.random.default_rng(9)
    unbiased, biased = [], []
    for _ in range(150):
        x, y = torch.from_numpy(rng.standard_normal((15, 8)) * 6), torch.from_numpy(rng.standard_normal((15, 8)) * 6)
        unbiased.append(mmd2_rbf(x, y, estimator="unbiased"))
        biased.append(mmd2_rbf(x, y))
    unbiased, biased = np.array(unbiased), np.array(biased)
    error = unbiased.std(ddof=1) / np.sqrt(len(unbiased))
    assert abs(unbiased.mean()) < 5 * error
    assert biased.mean() > 10 * error


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(2, 30), st.integers(2, 30), st.integers(1, 12), st.floats(0.5, 20))
def test_biased_estimator_is_a_squared_norm(seed, n, m, d, sigma):
    """The authors' estimator is ‖mean φ(x) − mean φ(y)‖² in the RKHS: ≥ 0, symmetric, 0 for x = y."""
    rng = np.random.default_rng(seed)
    x, y = torch.from_numpy(rng.standard_normal((n, d)) * 4), torch.from_numpy(rng.standard_normal((m, d)) * 4 + 1)
    value = mmd2_rbf(x, y, sigma)
    assert value >= -1e-12
    assert value == pytest.approx(mmd2_rbf(y, x, sigma), abs=1e-12)
    assert abs(mmd2_rbf(x, x, sigma)) < 1e-12


def test_bad_parameters_and_inputs_are_clear_errors():
    with pytest.raises(UsageError, match="estimator must be one of biased, unbiased"):
        CMMD(estimator="unbaised")
    with pytest.raises(UsageError, match="sigma must be positive"):
        CMMD(sigma=0.0)
    metric = CMMD(estimator="unbiased")
    gen, ref = metric.new_state(), metric.new_state()
    metric.update(gen, {"features": torch.zeros(1, 4)})
    metric.update(ref, {"features": torch.zeros(5, 4)})
    with pytest.raises(GanEvalError, match="cmmd: the unbiased estimator needs at least 2 rows"):
        metric.compute(gen, ref)
    with pytest.raises(GanEvalError, match="cmmd: the generated or the reference set has no images"):
        metric.compute(metric.new_state(), ref)


def test_end_to_end_through_the_engine(run_cli, tmp_path):
    out = tmp_path / "run.json"
    generated, reference = mnist_arrays(tmp_path)
    result = run_cli(
        "score", generated, "--ref", reference, "--extractor", "mnist-cnn", "-m", "cmmd", "-O", "cmmd.estimator=unbiased", "-q", "--no-cache", "--out", out
    )
    assert result.exit_code == 0, result.output
    entry = next(r for r in json.loads(out.read_text())["results"] if r["metric"] == "cmmd")
    assert entry["name"] == "cmmd@mnist-cnn" and entry["params"]["estimator"] == "unbiased"
    assert np.isfinite(entry["values"]["cmmd"])
