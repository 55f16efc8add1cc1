"""FID∞ (Chong & Forsyth, "Effectively Unbiased FID and Inception Score and where to find them",
CVPR 2020): FID_N is biased by a term proportional to 1/N whose size depends on the generator, so
FID at a fixed N can rank models wrongly. FID∞ evaluates FID_N at ``points`` (15) values of N evenly
spaced from ``min_n`` (5000) to the full N, fits FID_N = FID∞ + slope/N by least squares and reports
the intercept.

The authors' procedure exactly (``calculate_FID_infinity`` in mchong6/FID_IS_infinity):
``np.linspace(min_n, N, points).astype(int32)``; before each N the generated features are shuffled
in place again (cumulatively) and the first N taken — draws without replacement; each FID_N is
against the *whole* reference's statistics; ordinary least squares on 1/N. Here the shuffles come
from ``numpy.random.RandomState(seed)`` (theirs: numpy's unseeded global RNG), the trace term is
gan-eval's float64 eigen-method rather than scipy's ``sqrtm``, and N ≤ ``min_n`` is an error (their
grid would then run downwards). dgm-eval's port differs: lower bound min(5000, max(N // 10, 2)) and an
independent ``rng.choice(..., replace=False)`` per N (not cumulative shuffles), unseeded.

Reported: ``fid_inf`` (intercept), ``slope`` and ``residual`` (root mean square of the fit's
residuals, in FID units: how far the FID_N points stray from the line). ``details()`` has the grid.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

import gan_eval
from gan_eval.errors import GanEvalError
from gan_eval.params import Param
from gan_eval_plugins.feature_rows import FeatureRowsMetric
from gan_eval_plugins.fid import frechet_distance, moments_from_sums

#: The authors' lower end of the N grid and number of points.
AUTHORS_MIN_N = 5000
AUTHORS_POINTS = 15


def n_grid(n: int, min_n: int = AUTHORS_MIN_N, points: int = AUTHORS_POINTS) -> np.ndarray:
    """The authors' grid: ``np.linspace(min_n, n, points).astype('int32')``."""
    return np.linspace(min_n, n, points).astype("int32")


def cumulative_shuffle_draws(n: int, grid: np.ndarray, seed: int):
    """For each N of ``grid``: the first N rows after one more in-place shuffle (the authors' draws)."""
    rng = np.random.RandomState(seed)
    order = np.arange(n)
    for size in grid:
        rng.shuffle(order)
        yield order[:size]


def fit_inverse_n(grid: np.ndarray, values: np.ndarray) -> tuple[float, float, float]:
    """(intercept, slope, RMS residual) of the least-squares line values ≈ intercept + slope / N."""
    x = 1.0 / np.asarray(grid, dtype=np.float64)
    design = np.stack([np.ones_like(x), x], axis=1)
    (intercept, slope), *_ = np.linalg.lstsq(design, np.asarray(values, dtype=np.float64), rcond=None)
    residual = float(np.sqrt(np.mean((values - (intercept + slope * x)) ** 2)))
    return float(intercept), float(slope), residual


def _moments(rows: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    x = rows.to(torch.float64)
    return moments_from_sums(float(len(x)), x.sum(dim=0).numpy(), (x.T @ x).numpy())


def fid_infinity(generated: torch.Tensor, reference: torch.Tensor, *, min_n: int = AUTHORS_MIN_N, points: int = AUTHORS_POINTS, seed: int = 0) -> dict:
    """{"fid_inf", "slope", "residual", "n": grid, "fid_n": FID at each N} for feature rows."""
    n = len(generated)
    if points < 2:
        raise ValueError(f"the fit needs at least 2 points, got points={points}")
    if n <= min_n:
        raise ValueError(f"FID∞ needs more generated images than its lower bound min_n={min_n}, got {n}")
    mu2, sigma2 = _moments(reference)
    grid = n_grid(n, min_n, points)
    values = []
    for rows in cumulative_shuffle_draws(n, grid, seed):
        mu1, sigma1 = _moments(generated[torch.from_numpy(rows)])
        values.append(frechet_distance(mu2, sigma2, mu1, sigma1))
    values = np.array(values)
    intercept, slope, residual = fit_inverse_n(grid, values)
    return {"fid_inf": intercept, "slope": slope, "residual": residual, "n": grid.tolist(), "fid_n": values.tolist()}


class FrechetDistanceInfinity(FeatureRowsMetric):
    name = "fid_inf"
    summary = "FID∞ (Chong & Forsyth 2020): FID_N at 15 N from 5000 to N, extrapolated to 1/N = 0"
    primary = "fid_inf"
    higher_is_better = False
    state_params = frozenset()
    resampling = "none"
    resampling_reason = (
        "each resample would repeat its 15 FID evaluations (15× FID's cost per resample); the fit's residual is reported as its uncertainty instead"
    )
    params = {
        "min_n": Param(AUTHORS_MIN_N, "smallest N of the grid (the authors' 5000)"),
        "points": Param(AUTHORS_POINTS, "number of N values on the grid (the authors' 15)"),
        "seed": Param(0, "seed of the without-replacement draws; the run's --seed unless given"),
    }

    def compute(self, generated, reference):
        return {k: v for k, v in self._fit(generated, reference).items() if k in ("fid_inf", "slope", "residual")}

    def details(self, generated, reference):
        fit = self._fit(generated, reference)
        return {"n": fit["n"], "fid_n": fit["fid_n"]}

    def _fit(self, generated, reference):
        x, y = self.feature_pair(generated, reference)
        if x.shape[1] != y.shape[1]:
            raise GanEvalError(f"fid_inf: generated features are {x.shape[1]}-d but the reference's are {y.shape[1]}-d")
        if self.p["min_n"] <= x.shape[1]:
            warnings.warn(f"fid_inf: the grid starts at N = {self.p['min_n']} ≤ d = {x.shape[1]}: those FID_N are from singular covariances", stacklevel=3)
        try:
            return fid_infinity(x, y, min_n=self.p["min_n"], points=self.p["points"], seed=self.p["seed"])
        except ValueError as exc:
            raise GanEvalError(f"fid_inf: {exc} (lower -O fid_inf.min_n=K, e.g. N // 10 as dgm-eval does)") from None


@gan_eval.hookimpl
def register_metrics():
    return [FrechetDistanceInfinity]
