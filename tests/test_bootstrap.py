"""Bootstrap intervals from saved states: determinism, declarations, and coverage on Gaussians of known distance."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from coverage_helpers import MIXING, SHIFT, coverage, coverages, expected_values, gaussian_pair, gaussian_pair_in, state_of, true_mmd2_in
from gan_eval.bootstrap import Interval, draw_units, metric_intervals, why_no_intervals
from gan_eval.errors import UsageError
from gan_eval.metric import Metric
from gan_eval.resampling import Resampler
from gan_eval.state import State
from gan_eval_plugins.fid import FrechetDistance, frechet_distance
from gan_eval_plugins.fid_inf import FrechetDistanceInfinity
from gan_eval_plugins.kid import KernelDistance, KidResampler, polynomial_kernel
from gan_eval_plugins.prdc import PRDC
from gan_eval_plugins.precision_recall import PrecisionRecall


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


class WeightedMean(Resampler):
    """A third party's fast path: the mean of the drawn rows from their counts; declines odd draws."""

    def __init__(self, x, decline_every=0):
        super().__init__({"generated": len(x)})
        self.x, self.decline_every, self.calls, self.sizes = x, decline_every, 0, set()

    def values(self, counts):
        self.calls += 1
        self.sizes.add(int(counts["generated"].sum()))
        if self.decline_every and self.calls % self.decline_every == 0:
            return None  # computed from the resampled state instead
        return {"mean": float(counts["generated"] @ self.x / counts["generated"].sum())}


class FastMeanOfRows(MeanOfRows):
    decline_every = 0

    def resampler(self, generated, reference):
        self.fast = WeightedMean(generated.numpy("x").astype(np.float64), self.decline_every)
        return self.fast


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


@pytest.mark.parametrize("decline_every", [0, 3])
def test_a_metric_resampler_is_a_fast_path_to_the_same_interval(decline_every):
    """The resampler gets unit counts (a bootstrap draw: N in all; the jackknife: N minus a group) and
    gives the values compute() would on the resampled state; a replicate it declines (None) is
    computed from the state, so the interval is the slow path's to round-off either way."""
    state = rows(np.random.default_rng(1).standard_normal(300))
    slow = metric_intervals(MeanOfRows(), state, None, resamples=100, seed=5)["mean"]
    metric = FastMeanOfRows()
    metric.decline_every = decline_every
    fast = metric_intervals(metric, state, None, resamples=100, seed=5)["mean"]
    assert (fast.low, fast.high) == pytest.approx((slow.low, slow.high), rel=1e-12)
    assert metric.fast.calls == 100 + 20  # 100 resamples, 20 jackknife groups: no compute() but the estimate's
    assert 300 in metric.fast.sizes and {300 - 300 // 20, 300 - 300 // 20 - 1} & metric.fast.sizes


def test_kid_replicates_are_the_weighted_u_statistic_of_the_drawn_blocks():
    """A replicate for block counts c, e equals the unbiased MMD² of the rows those blocks hold, each
    row weighted by its block's count, pairs of a row with its own copies left out; all ones give
    the full-data U-statistic, and the value the subsets' mean."""
    rng = np.random.default_rng(0)
    x, y = torch.from_numpy(rng.standard_normal((203, 5))), torch.from_numpy(rng.standard_normal((190, 5)) + 0.3)
    subsets = np.array([0.1, 0.25, 0.4])
    resampler = KidResampler(x, y, float(subsets.mean()), subsets, blocks=7)
    kxx, kyy, kxy = (polynomial_kernel(a, b).numpy() for a, b in ((x, x), (y, y), (x, y)))
    np.fill_diagonal(kxx, 0.0)
    np.fill_diagonal(kyy, 0.0)

    def u(w, v):
        within = lambda k, a: a @ k @ a / (a.sum() ** 2 - a @ a)  # noqa: E731
        return within(kxx, w) + within(kyy, v) - 2 * w @ kxy @ v / (w.sum() * v.sum())

    full = kxx.sum() / (203 * 202) + kyy.sum() / (190 * 189) - 2 * kxy.mean()
    assert resampler.full == pytest.approx(full, rel=1e-12)
    assert resampler.values({"generated": np.ones(7), "reference": np.ones(7)})["mean"] == pytest.approx(subsets.mean(), rel=1e-12)
    for _ in range(5):
        c, e = (np.bincount(rng.integers(0, 7, 7), minlength=7) for _ in range(2))
        expected = u(c[np.arange(203) % 7].astype(float), e[np.arange(190) % 7].astype(float)) - full + subsets.mean()
        assert resampler.values({"generated": c, "reference": e})["mean"] == pytest.approx(expected, rel=1e-12)
    assert resampler.extra_variance == {"mean": pytest.approx(np.var(subsets, ddof=1) / 3)}


@pytest.mark.parametrize("metric", [PRDC(), PRDC(k=3), PrecisionRecall()], ids=["prdc", "prdc-k3", "pr"])
def test_half_sample_replicates_equal_compute_on_the_half(metric):
    """One pass over the distances gives every half-sample's values exactly as compute() on it."""
    rng = np.random.default_rng(2)
    for n, m, d in ((300, 260, 3), (90, 100, 8)):
        gen, ref = rows_state(rng.standard_normal((n, d))), rows_state(rng.standard_normal((m, d)) * 1.2 + 0.2)
        resampler = metric.resampler(gen, ref)
        assert resampler.values({"generated": np.ones(n, int), "reference": np.ones(m, int)}) == metric.compute(gen, ref)
        for _ in range(20):
            gi, ri = draw_units(np.arange(n), rng, half=True), draw_units(np.arange(m), rng, half=True)
            fast = resampler.values({"generated": np.bincount(gi, minlength=n), "reference": np.bincount(ri, minlength=m)})
            assert fast == metric.compute(gen.resampled(gi), ref.resampled(ri))
        assert resampler.values({"generated": np.full(n, 2), "reference": np.ones(m, int)}) is None  # copies: not a half


def test_fid_replicates_equal_compute_on_the_resampled_states():
    """Block sums, a cached factor for a set drawn whole and two-stage eigenvalues: round-off only,
    also where N ≤ d makes a covariance singular."""
    metric, rng = FrechetDistance(), np.random.default_rng(3)
    for n, d, blocks in ((400, 6, 20), (60, 80, 10)):
        gen = state_of(metric, rng.standard_normal((n, d)), blocks, batch=10)
        ref = state_of(metric, rng.standard_normal((n + 7, d)) * 1.1 + 0.2, blocks, batch=10)
        resampler = metric.resampler(gen, ref)
        assert resampler.values({})["fid"] == pytest.approx(metric.compute(gen, ref)["fid"], rel=1e-9)
        units = resampler.units  # the blocks holding data
        assert units == {"generated": len(gen.filled_units()), "reference": len(ref.filled_units())}
        for b in range(6):
            gi = draw_units(np.arange(units["generated"]), rng)
            ri = np.arange(units["reference"]) if b % 2 else draw_units(np.arange(units["reference"]), rng)
            counts = {"generated": np.bincount(gi, minlength=units["generated"]), "reference": np.bincount(ri, minlength=units["reference"])}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                slow = metric.compute(gen.resampled(gen.filled_units()[gi]), ref.resampled(ref.filled_units()[ri]))["fid"]
            assert resampler.values(counts)["fid"] == pytest.approx(slow, rel=1e-9)


@pytest.mark.parametrize("metric", [KernelDistance(subsets=10, subset_size=50), PRDC(), PrecisionRecall(), FrechetDistance()], ids=lambda m: m.name)
def test_fast_path_intervals_are_seeded_and_contain_the_value(metric):
    x, y = gaussian_pair(200, 7)
    gen, ref = state_of(metric, x, blocks=20, batch=10), state_of(metric, y, blocks=20, batch=10)
    values = metric.compute(gen, ref)
    first = metric_intervals(metric, gen, ref, resamples=50, seed=1)
    assert first and first == metric_intervals(metric, gen, ref, resamples=50, seed=1)
    assert first != metric_intervals(metric, gen, ref, resamples=50, seed=2)
    assert all(first[k].low <= values[k] <= first[k].high for k in first)


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


def rows_state(x):
    state = State({"features": "cat"})
    state.append("features", torch.from_numpy(x))
    return state


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
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metric_intervals(metric, gen, ref, resamples=20)
        kid = KernelDistance()  # subsets clamped to the 40 rows: the resampler's own compute stays quiet too
        metric_intervals(kid, state_of(kid, x), state_of(kid, y), resamples=20)


# --- coverage (acceptance): 95 % intervals contain the true value in 93–97 % of seeded repetitions -------------
@pytest.mark.slow
def test_fid_interval_coverage_on_gaussians_of_known_fid():
    """d = 2, N = 1000 in 20 batches, K = 20 blocks: FID_N's bias (~4/N = 0.004) is small next to its
    spread (interval width ≈ 0.31) and BCa corrects it anyway."""
    truth = frechet_distance(np.zeros(2), np.eye(2), SHIFT, MIXING @ MIXING.T)
    covered = coverage(FrechetDistance(), truth, n=1000, reps=200, resamples=100, blocks=20)
    assert 0.93 <= covered <= 0.97, covered


@pytest.mark.slow
def test_kid_interval_coverage_on_gaussians_of_known_mmd():
    """The truth is exact: the population MMD² of N(0, I) and N(0.3, A Aᵀ) in d = 8 under KID's
    cubic kernel, from the Gaussians' first three moments (coverage_helpers.true_mmd2_in; KID is
    unbiased for it at any N). N = 200, 20 subsets of 100, K = 100 blocks of 2 rows, 100 resamples;
    500 repetitions (binomial standard error 1 point). Measured: 0.938 at 400 repetitions. In d = 2
    the cubic kernel's heavy tails make the bootstrap's spread too small in most small samples
    (median bootstrap sd 0.88 of the true one at N = 200): 0.918 at N = 200, 0.92 at N = 500."""
    d = 8
    metric = KernelDistance(subsets=20, subset_size=100)
    covered = coverage(metric, true_mmd2_in(d), n=200, reps=500, resamples=100, pair=lambda n, seed: gaussian_pair_in(d, n, seed))
    assert 0.93 <= covered <= 0.97, covered


@pytest.mark.slow
@pytest.mark.parametrize(
    "metric, keys", [(PrecisionRecall(), ["precision", "recall"]), (PRDC(), ["precision", "recall", "density", "coverage"])], ids=["pr", "prdc"]
)
def test_knn_interval_coverage(metric, keys):
    """k-NN values at fixed N and k have no closed form, and their bias at N is part of what they
    are (the interval is for E[value at N]): the truth is the mean over 1000 independent
    repetitions (seeds disjoint from the 400 coverage repetitions; its standard error, 0.03 of the
    value's spread, is negligible next to the interval's half-width of ~2 spreads). d = 2, N = 200,
    half-sampling, 100 resamples; binomial standard error 1.1 points. Measured: pr 0.953 / 0.950,
    prdc 0.955 / 0.948 / 0.968 / 0.953 (precision, recall, density, coverage)."""
    truth = expected_values(metric, keys, n=200, reps=1000)
    covered = coverages(metric, truth, n=200, reps=400, resamples=100, keys=keys)
    assert all(0.93 <= c <= 0.97 for c in covered.values()), covered


def test_verify_reproduces_the_fast_path_intervals(run_cli, tmp_path):
    """KID's block sums and prdc's neighbour lists, end to end: the record's intervals are seeded,
    `verify` recomputes them to the same numbers, and a changed bound is named."""
    import json

    from gan_eval_plugins.sources.datasets import load_dataset

    paths = []
    for split in ("test", "train"):
        paths.append(tmp_path / f"{split}.npy")
        np.save(paths[-1], load_dataset("mnist5k", split)[0][::20][:200])
    out = tmp_path / "run.json"
    args = ("score", paths[0], "--ref", paths[1], "--extractor", "mnist-cnn", "-m", "kid", "-m", "prdc", "--bootstrap", "40", "--seed", "4")
    result = run_cli(*args, "--no-cache", "-q", "--device", "cpu", "--out", out)
    assert result.exit_code == 0, result.output
    results = {r["metric"]: r for r in json.loads(out.read_text())["results"]}
    assert results["kid"]["intervals"]["mean"]["method"] == "bca" and "std" not in results["kid"]["intervals"]
    assert {v["method"] for v in results["prdc"]["intervals"].values()} == {"half-sampling percentile"}
    assert set(results["prdc"]["intervals"]) == {"precision", "recall", "density", "coverage"}
    verified = run_cli("verify", out)
    assert verified.exit_code == 0 and "kid@mnist-cnn.mean.low" in verified.output and "prdc@mnist-cnn.coverage.high" in verified.output, verified.output
    record = json.loads(out.read_text())
    next(r for r in record["results"] if r["metric"] == "prdc")["intervals"]["coverage"]["low"] -= 0.01
    (tmp_path / "tampered.json").write_text(json.dumps(record))
    tampered = run_cli("verify", tmp_path / "tampered.json")
    assert tampered.exit_code == 1 and "DIFF prdc@mnist-cnn.coverage.low" in tampered.output


def test_the_moment_formula_of_the_true_mmd_equals_quadrature():
    """Two independent routes to the population kernel means the KID coverage test relies on."""
    from coverage_helpers import gaussian_moments_kernel_mean, polynomial_kernel_mean

    rng = np.random.default_rng(0)
    for d in (1, 2, 3):
        a, b = rng.standard_normal((d, d)), rng.standard_normal((d, d))
        args = (rng.standard_normal(d), a @ a.T, rng.standard_normal(d), b @ b.T)
        assert gaussian_moments_kernel_mean(*args) == pytest.approx(polynomial_kernel_mean(*args), rel=1e-12)
