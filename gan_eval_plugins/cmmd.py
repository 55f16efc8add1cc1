"""CMMD (Jayasumana et al., CVPR 2024): MMD² with a Gaussian RBF kernel, σ = 10, times 1000.

k(x, y) = exp(−‖x − y‖² / (2σ²)). The default estimator is the one of the authors' code
(google-research ``cmmd/distance.py``, ``mmd``): the biased, minimum-variance V-statistic of
Gretton et al. (2012, eq. 5),

    MMD²_b = mean_{i,j} k(xᵢ, xⱼ) + mean_{i,j} k(yᵢ, yⱼ) − 2 mean_{i,j} k(xᵢ, yⱼ),

every mean over the whole matrix, diagonal included, with ‖x − y‖² expanded as
−2 xᵀy + ‖x‖² + ‖y‖² and neither clamped nor its diagonal forced to zero (as they do; so the
diagonal terms are 1 up to rounding). ``estimator=unbiased`` drops the diagonals of the two
within-set sums and divides them by n(n − 1) instead.

Kernel sums are taken over row blocks of at most :data:`_BLOCK_ELEMENTS` entries in float64, so memory
stays O(block) however many rows the sets hold; the state is the feature rows (merged by concatenation).
"""

from __future__ import annotations

import torch

import gan_eval
from gan_eval.errors import GanEvalError, UsageError
from gan_eval.params import Param
from gan_eval_plugins.feature_rows import FeatureRowsMetric

#: Kernel-matrix entries computed at once (float64: 32 MiB a block).
_BLOCK_ELEMENTS = 2**22

ESTIMATORS = ("biased", "unbiased")


def rbf_kernel_sum(x: torch.Tensor, y: torch.Tensor, sigma: float, *, skip_diagonal: bool = False) -> float:
    """Σ_{i,j} exp(−‖xᵢ − yⱼ‖² / (2σ²)) in float64, in row blocks of ``x``.

    ``skip_diagonal`` (for x = y) leaves out the terms i = j."""
    gamma = 1.0 / (2.0 * sigma**2)
    x_sq, y_sq = (x * x).sum(dim=1), (y * y).sum(dim=1)
    step = max(1, _BLOCK_ELEMENTS // max(len(y), 1))
    total = torch.zeros((), dtype=torch.float64, device=x.device)
    for start in range(0, len(x), step):
        block = x[start : start + step] @ y.T
        block.mul_(-2.0).add_(x_sq[start : start + step, None]).add_(y_sq[None, :]).mul_(-gamma).exp_()
        if skip_diagonal:
            rows = torch.arange(len(block), device=x.device)
            block[rows, rows + start] = 0.0
        total += block.sum()
    return float(total)


def mmd2_rbf(x: torch.Tensor, y: torch.Tensor, sigma: float = 10.0, estimator: str = "biased") -> float:
    """MMD² between row sets ``x`` and ``y`` (unscaled) with the Gaussian RBF kernel of bandwidth σ."""
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"CMMD needs two N×d feature matrices of equal d, got {tuple(x.shape)} and {tuple(y.shape)}")
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {', '.join(ESTIMATORS)}, got {estimator!r}")
    x, y = x.to(torch.float64), y.to(torch.float64)
    n, m = len(x), len(y)
    k_xy = rbf_kernel_sum(x, y, sigma) / (n * m)
    if estimator == "biased":
        return rbf_kernel_sum(x, x, sigma) / (n * n) + rbf_kernel_sum(y, y, sigma) / (m * m) - 2.0 * k_xy
    if min(n, m) < 2:
        raise ValueError(f"the unbiased estimator needs at least 2 rows in each set, got {n} and {m}")
    k_xx = rbf_kernel_sum(x, x, sigma, skip_diagonal=True) / (n * (n - 1))
    k_yy = rbf_kernel_sum(y, y, sigma, skip_diagonal=True) / (m * (m - 1))
    return k_xx + k_yy - 2.0 * k_xy


class CMMD(FeatureRowsMetric):
    name = "cmmd"
    summary = "CMMD: RBF-kernel MMD² (σ = 10) × 1000, the authors' biased estimator; meant for CLIP embeddings"
    primary = "cmmd"
    higher_is_better = False
    state_params = frozenset()  # every parameter acts in compute(): the reference state is the rows
    params = {
        "sigma": Param(10.0, "bandwidth σ of the Gaussian RBF kernel (the authors' 10)"),
        "scale": Param(1000.0, "factor applied to MMD² (the authors' 1000)"),
        "estimator": Param("biased", "biased (the authors' V-statistic, diagonals included) or unbiased"),
    }

    def __init__(self, **params):
        super().__init__(**params)
        if self.p["estimator"] not in ESTIMATORS:
            raise UsageError(f"metric cmmd: estimator must be one of {', '.join(ESTIMATORS)}, got {self.p['estimator']!r}")
        if not self.p["sigma"] > 0:
            raise UsageError(f"metric cmmd: sigma must be positive, got {self.p['sigma']}")

    def compute(self, generated, reference):
        x, y = self.feature_pair(generated, reference)
        try:
            value = mmd2_rbf(x, y, self.p["sigma"], self.p["estimator"])
        except ValueError as exc:
            raise GanEvalError(f"cmmd: {exc}") from None
        return {"cmmd": self.p["scale"] * value}


@gan_eval.hookimpl
def register_metrics():
    return [CMMD]
