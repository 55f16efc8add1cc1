"""Kernel Inception Distance (Bińkowski et al., 2018): unbiased MMD² with a cubic polynomial kernel.

k(x, y) = (xᵀy / d + 1)³. For each of ``subsets`` draws, ``subset_size`` generated and as many reference
rows are picked without replacement and the unbiased estimator

    MMD² = Σ_{i≠j} k(xᵢ,xⱼ)/(m(m−1)) + Σ_{i≠j} k(yᵢ,yⱼ)/(m(m−1)) − 2 Σ_{i,j} k(xᵢ,yⱼ)/m²

is computed in float64; reported: ``mean`` and ``std`` (ddof = 0) over the subsets.

The draws are torch-fidelity's exactly: ``rng = numpy.random.RandomState(seed)`` (2020 by default),
then per subset ``rng.choice(n_generated, m, replace=False)`` followed by
``rng.choice(n_reference, m, replace=False)``; so with the same features the values equal
torch-fidelity's. When a set has fewer than ``subset_size`` rows, m is clamped to the smaller set's
size with a warning (torch-fidelity refuses instead).

Speed: when the subsets together touch about as many rows as the sets hold, the kernel matrices of
the rows in use are computed once and every subset reads its block from them (same values, a fraction
of the multiplications); otherwise each subset multiplies its own rows.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

import gan_eval
from gan_eval.errors import GanEvalError
from gan_eval_plugins.feature_rows import FeatureRowsMetric
from gan_eval.params import Param

#: Largest kernel matrix (elements) precomputed once for all subsets: 64 Mi float64 = 512 MiB.
_MAX_SHARED_KERNEL = 64 * 2**20


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(x yᵀ / d + 1)³ for row sets x (n×d) and y (m×d)."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(k_xx: torch.Tensor, k_yy: torch.Tensor, k_xy: torch.Tensor) -> float:
    """The unbiased MMD² estimate from the three m×m kernel matrices (diagonals of k_xx, k_yy dropped)."""
    m = k_xx.shape[0]
    within = (k_xx.sum() - k_xx.diagonal().sum() + k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    return float(within - 2.0 * k_xy.sum() / (m * m))


def subset_indices(n_x: int, n_y: int, subsets: int, size: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """torch-fidelity's draws: one RandomState, per subset a choice from x then from y."""
    rng = np.random.RandomState(seed)
    return [(rng.choice(n_x, size, replace=False), rng.choice(n_y, size, replace=False)) for _ in range(subsets)]


def kernel_distance(x: torch.Tensor, y: torch.Tensor, subsets: int = 100, subset_size: int = 1000, seed: int = 2020) -> tuple[float, float]:
    """(mean, std) of the unbiased MMD² over seeded subsets of generated ``x`` and reference ``y``."""
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"KID needs two N×d feature matrices of equal d, got {tuple(x.shape)} and {tuple(y.shape)}")
    if subset_size < 2 or min(len(x), len(y)) < subset_size:
        raise ValueError(f"subset size {subset_size} needs 2 ≤ size ≤ the number of rows ({len(x)}, {len(y)})")
    x, y = x.to(torch.float64), y.to(torch.float64)
    draws = subset_indices(len(x), len(y), subsets, subset_size, seed)
    used_x = np.unique(np.concatenate([ix for ix, _ in draws]))
    used_y = np.unique(np.concatenate([iy for _, iy in draws]))
    shared_cost = (len(used_x) + len(used_y)) ** 2
    per_subset_cost = subsets * 3 * subset_size**2
    mmds = []
    if shared_cost <= per_subset_cost and shared_cost <= _MAX_SHARED_KERNEL:
        mmds = _mmds_from_shared_kernels(x, y, draws, used_x, used_y)
    else:
        mmds = []
        for ix, iy in draws:
            sx = x[torch.from_numpy(ix).to(x.device)]
            sy = y[torch.from_numpy(iy).to(y.device)]
            mmds.append(mmd2_unbiased(polynomial_kernel(sx, sx), polynomial_kernel(sy, sy), polynomial_kernel(sx, sy)))
    values = np.array(mmds)
    return float(values.mean()), float(values.std())


def _mmds_from_shared_kernels(x, y, draws, used_x, used_y) -> list[float]:
    """MMD² of every draw from kernel matrices over the rows in use, computed once.

    With W the 0/1 matrix of which used rows each subset takes, a subset's kernel sums are
    rowsums((W K) ⊙ W): one matrix product for all subsets instead of gathering m×m blocks.
    """
    m = len(draws[0][0])
    ux = x[torch.from_numpy(used_x).to(x.device)]
    uy = y[torch.from_numpy(used_y).to(y.device)]
    w_x = _membership(draws, 0, used_x, x.device)
    w_y = _membership(draws, 1, used_y, y.device)
    k_xx, k_yy, k_xy = polynomial_kernel(ux, ux), polynomial_kernel(uy, uy), polynomial_kernel(ux, uy)
    sum_xx = ((w_x @ k_xx) * w_x).sum(dim=1) - w_x @ k_xx.diagonal()
    sum_yy = ((w_y @ k_yy) * w_y).sum(dim=1) - w_y @ k_yy.diagonal()
    sum_xy = ((w_x @ k_xy) * w_y).sum(dim=1)
    mmds = (sum_xx + sum_yy) / (m * (m - 1)) - 2.0 * sum_xy / (m * m)
    return mmds.cpu().tolist()


def _membership(draws, side: int, used: np.ndarray, device) -> torch.Tensor:
    """S×len(used) float64 matrix: 1 where subset s takes used row j."""
    position = np.full(int(used.max()) + 1, -1)
    position[used] = np.arange(len(used))
    weights = np.zeros((len(draws), len(used)))
    for s, draw in enumerate(draws):
        weights[s, position[draw[side]]] = 1.0
    return torch.from_numpy(weights).to(device)


class KernelDistance(FeatureRowsMetric):
    name = "kid"
    summary = "Kernel Inception Distance: unbiased MMD², cubic polynomial kernel, 100 seeded subsets of 1000"
    primary = "mean"
    higher_is_better = False
    state_params = frozenset()  # parameters act in compute() only: the reference state does not depend on them
    params = {
        "subsets": Param(100, "number of random subsets averaged"),
        "subset_size": Param(1000, "rows per subset from each set (clamped, with a warning, to the smaller set)"),
        "seed": Param(
            2020, "seed of the subset draws (numpy RandomState, torch-fidelity's order); the run's --seed unless given; 2020 is torch-fidelity's default"
        ),
    }

    def compute(self, generated, reference):
        x, y = self.feature_pair(generated, reference)
        size = self.p["subset_size"]
        if min(len(x), len(y)) < size:
            size = min(len(x), len(y))
            warnings.warn(
                f"subset size clamped from {self.p['subset_size']} to {size} (generated: {len(x)}, reference: {len(y)} "
                "images); KID from smaller subsets is noisier and not comparable with the default",
                stacklevel=2,
            )
        if size < 2:
            raise GanEvalError(f"kid: needs at least 2 images in each set (generated: {len(x)}, reference: {len(y)})")
        if self.p["subsets"] < 1:
            raise GanEvalError("kid: subsets must be at least 1")
        mean, std = kernel_distance(x, y, self.p["subsets"], size, self.p["seed"])
        return {"mean": mean, "std": std}


@gan_eval.hookimpl
def register_metrics():
    return [KernelDistance]
