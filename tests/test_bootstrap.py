"""Bootstrap intervals from saved states: determinism, declarations, and coverage on Gaussians of known distance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from coverage_helpers import coverage, gaussian_pair, state_of, true_mmd2
from gan_eval.bootstrap import Interval, metric_intervals, why_no_intervals
from gan_eval.errors import UsageError
from gan_eval.metric import Metric
from gan_eval.state import State
from gan_eval_plugins.fid import FrechetDistance, frechet_distance
from gan_eval_plugins.fid_inf import FrechetDistanceInfinity
from gan_eval_plugins.kid import KernelDistance
from gan_eval_plugins.precision_recall import PrecisionRecall

from coverage_helpers import MIXING, SHIFT


@pytest.fixture(autouse=True)
def one_thread():
    """Thousands of tiny computations: threads only contend (measured 30× slower on 2 busy cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class MeanOfRows(Metric):
    """A third-party metric that knows nothing about intervals: one cat accumulator, a mean."""

    name = "mean_of_rows"
    primary = "mean"
    requires = frozenset({"features"})
    reference = "unused"

    def state_spec(self):
        return {"x": "cat"}

    def update(self, state, inputs):
        state.append("x", inputs["features"][:, 0])

    def compute(self, generated, reference):
        return {"mean": float(generated.get("x").to(torch.float64).mean())}


def rows(values):
    state = State({"x": "cat"})
    state.append("x", torch.as_tensor(values, dtype=torch.float64))
    return state


def test_a_third_party_metric_gets_intervals_for_free_and_they_are_seeded():
    state = rows(np.random.default_rng(0).standard_normal(400))
    first = metric_intervals(MeanOfRows(), state, None, resamples=200, seed=3)["mean"]
    assert first == metric_intervals(MeanOfRows(), state, None, resamples=200, seed=3)["mean"]
    assert first != metric_intervals(MeanOfRows(), state, None, resamples=200, seed=4)["mean"]
    assert isinstance(first, Interval) and first.as_dict().keys() == {"low", "high", "level", "method", "resamples", "seed"}
    # for a mean the bootstrap interval is the textbook one, ±1.96 σ/√n (to Monte Carlo error)
    x = state.numpy("x")
    half_width = 1.96 * x.std() / np.sqrt(len(x))
    assert first.high - first.low == pytest.approx(2 * half_width, rel=0.15)
    assert first.low < x.mean() < first.high


def test_nothing_to_resample_gives_no_interval_and_says_why():
    fixed = FrechetDistance().new_state()  # sums without blocks: e.g. a pytorch-fid statistics file
    FrechetDistance().update(fixed, {"features": torch.randn(50, 2)})
    assert metric_intervals(FrechetDistance(), fixed, fixed, resamples=10) == {}
    assert "without blocks" in why_no_intervals(FrechetDistance(), fixed, fixed)
    assert "15" in why_no_intervals(FrechetDistanceInfinity(), rows([1.0] * 10), None)
    assert metric_intervals(MeanOfRows(), rows([1.0, 2.0]), None, resamples=10) == {}  # 2 rows < MIN_UNITS
    assert metric_intervals(MeanOfRows(), rows(np.arange(10.0)), None, resamples=0) == {}
    with pytest.raises(UsageError, match="level"):
        metric_intervals(MeanOfRows(), rows(np.arange(10.0)), None, resamples=10, level=95)


def test_a_fixed_reference_is_not_resampled():
    """FID against statistics without blocks: only the generated set's blocks move, so the interval is narrower."""
    metric = FrechetDistance()
    x, y = gaussian_pair(1000, 0)
    gen, ref = state_of(metric, x, blocks=20), state_of(metric, y, blocks=20)
    both = metric_intervals(metric, gen, ref, resamples=100)["fid"]
    fixed_ref = state_of(metric, y, blocks=0)
    only_gen = metric_intervals(metric, gen, fixed_ref, resamples=100)["fid"]
    assert only_gen.high - only_gen.low < both.high - both.low
    assert metric_intervals(metric, gen, ref, resamples=100, resample_reference=False)["fid"] == only_gen


def test_resample_warnings_are_not_repeated():
    metric = FrechetDistance()
    x, y = gaussian_pair(40, 1)
    gen, ref = state_of(metric, x, blocks=8, batch=5), state_of(metric, y, blocks=8, batch=5)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metric_intervals(metric, gen, ref, resamples=20)


# --- coverage (acceptance): 95 % intervals contain the true value in 93–97 % of seeded repetitions -------------
@pytest.mark.slow
def test_fid_interval_coverage_on_gaussians_of_known_fid():
    """d = 2, N = 1000 in 20 batches, K = 20 blocks: FID_N's bias (~4/N = 0.004) is small next to its
    spread (interval width ≈ 0.31) and BCa corrects it anyway."""
    truth = frechet_distance(np.zeros(2), np.eye(2), SHIFT, MIXING @ MIXING.T)
    covered = coverage(FrechetDistance(), truth, n=1000, reps=200, resamples=100, blocks=20)
    assert 0.93 <= covered <= 0.97, covered


@pytest.mark.long
def test_kid_interval_coverage_on_gaussians_of_known_mmd():
    """The population MMD² is exact (coverage_helpers.true_mmd2); KID is unbiased, so no N-dependence."""
    covered = coverage(KernelDistance(subsets=20, subset_size=150), true_mmd2(), n=300, reps=200, resamples=100)
    assert 0.93 <= covered <= 0.97, covered


@pytest.mark.long
@pytest.mark.parametrize("key", ["precision", "recall"])
def test_precision_recall_interval_coverage(key):
    """P/R at fixed N and k have no closed form: the true value E[P_N] is the mean over the repetitions."""
    covered = coverage(PrecisionRecall(), lambda estimates: float(np.mean(estimates)), n=300, reps=200, resamples=100, key=key)
    assert 0.93 <= covered <= 0.97, covered
