"""IS∞ (Chong & Forsyth, CVPR 2020): the Inception Score extrapolated to infinitely many images.

The authors' ``calculate_IS_infinity`` exactly, on the same N grid and draws as FID∞
(:mod:`gan_eval_plugins.fid_inf`): IS_N with one split (no 10-split average) at 15 N evenly spaced from
``min_n`` = 5000 to N, each the first N rows after one more in-place shuffle; a least-squares line in
1/N; the intercept. IS_N here is computed from the logits in float64 (log-softmax), the authors take
``log`` of float32 softmax probabilities (equal to ~1e-7). dgm-eval has no IS∞.

Reported: ``is_inf``, ``slope``, ``residual`` (RMS of the fit's residuals); ``details()`` has the grid.
"""

from __future__ import annotations

import numpy as np
import torch

import gan_eval
from gan_eval.errors import GanEvalError
from gan_eval.metric import Metric
from gan_eval.params import Param
from gan_eval_plugins.fid_inf import AUTHORS_MIN_N, AUTHORS_POINTS, cumulative_shuffle_draws, fit_inverse_n, n_grid
from gan_eval_plugins.inception_score import inception_score


def is_infinity(logits: torch.Tensor, *, min_n: int = AUTHORS_MIN_N, points: int = AUTHORS_POINTS, seed: int = 0) -> dict:
    """{"is_inf", "slope", "residual", "n", "is_n"} for N×K logits."""
    n = len(logits)
    if points < 2:
        raise ValueError(f"the fit needs at least 2 points, got points={points}")
    if n <= min_n:
        raise ValueError(f"IS∞ needs more images than its lower bound min_n={min_n}, got {n}")
    grid = n_grid(n, min_n, points)
    values = np.array([inception_score(logits[torch.from_numpy(rows)], splits=1, shuffle=False)[0] for rows in cumulative_shuffle_draws(n, grid, seed)])
    intercept, slope, residual = fit_inverse_n(grid, values)
    return {"is_inf": intercept, "slope": slope, "residual": residual, "n": grid.tolist(), "is_n": values.tolist()}


class InceptionScoreInfinity(Metric):
    name = "is_inf"
    summary = "IS∞ (Chong & Forsyth 2020): one-split IS_N at 15 N from 5000 to N, extrapolated to 1/N = 0"
    requires = frozenset({"logits"})
    reference = "unused"
    primary = "is_inf"
    higher_is_better = True
    state_params = frozenset()
    resampling = "none"
    resampling_reason = "each resample would repeat its 15 IS evaluations; the fit's residual is reported instead"
    params = {
        "min_n": Param(AUTHORS_MIN_N, "smallest N of the grid (the authors' 5000)"),
        "points": Param(AUTHORS_POINTS, "number of N values on the grid (the authors' 15)"),
        "seed": Param(0, "seed of the without-replacement draws; the run's --seed unless given"),
    }

    def state_spec(self):
        return {"logits": "cat"}

    def update(self, state, inputs):
        state.append("logits", inputs["logits"])

    def compute(self, generated, reference):
        return {k: v for k, v in self._fit(generated).items() if k in ("is_inf", "slope", "residual")}

    def details(self, generated, reference):
        fit = self._fit(generated)
        return {"n": fit["n"], "is_n": fit["is_n"]}

    def _fit(self, generated):
        logits = generated.get("logits")
        if logits is None:
            raise GanEvalError("is_inf: the generated set has no images")
        try:
            return is_infinity(logits, min_n=self.p["min_n"], points=self.p["points"], seed=self.p["seed"])
        except ValueError as exc:
            raise GanEvalError(f"is_inf: {exc} (lower -O is_inf.min_n=K)") from None


@gan_eval.hookimpl
def register_metrics():
    return [InceptionScoreInfinity]
