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

Intervals (gan_eval.bootstrap, fast path :class:`KidResampler`): the reported mean over subsets
is the full-data two-sample U-statistic U_N plus the subsets' own noise (mean 0 given the data,
variance s²/S, s² the subsets' variance). The rows are grouped into :data:`RESAMPLING_BLOCKS`
interleaved blocks (row i → block i mod K) and the kernel sums of every block pair are computed
once (one pass over the three N×N kernel matrices, never stored); a replicate's U_N for block
counts c, e is then an O(K²) weighted sum, pairs of a row with itself left out. Replicates are
value + (U*_N − U_N) + a seeded N(0, s²/S) draw; see docs/intervals.md.

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
from gan_eval.params import Param
from gan_eval.resampling import Resampler
from gan_eval_plugins.feature_rows import FeatureRowsMetric

#: Interleaved row blocks of the interval's fast path (each replicate costs O(K²); the one pass
#: over the kernels adds O(N²·K) additions to its O(N²·d) multiply-adds).
RESAMPLING_BLOCKS = 100

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
    values = subset_mmds(x, y, subsets, subset_size, seed)
    return float(values.mean()), float(values.std())


def subset_mmds(x: torch.Tensor, y: torch.Tensor, subsets: int = 100, subset_size: int = 1000, seed: int = 2020) -> np.ndarray:
    """The unbiased MMD² of every seeded subset (torch-fidelity's draws)."""
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
    return np.array(mmds)


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


def block_kernel_sums(a: torch.Tensor, blocks: int) -> torch.Tensor:
    """K×K sums of k(aᵢ, aⱼ), i ≠ j, over rows i in block p and j in block q (row i is in block i mod K).

    Row chunks against the later rows only (the kernel is symmetric: half the products); memory
    O(chunk × N), never N×N."""
    a = a.to(torch.float64)
    ids = torch.arange(len(a), device=a.device) % blocks
    out = torch.zeros(blocks, blocks, dtype=torch.float64, device=a.device)
    step = _chunk_rows(len(a))
    for start in range(0, len(a), step):
        stop = min(start + step, len(a))
        square = polynomial_kernel(a[start:stop], a[start:stop])
        square.fill_diagonal_(0.0)
        out += _aggregate(square, ids[start:stop], ids[start:stop], blocks, blocks)
        if stop < len(a):  # a pair (i, j) with j beyond the chunk counts twice: (i, j) and (j, i)
            rest = _aggregate(polynomial_kernel(a[start:stop], a[stop:]), ids[start:stop], ids[stop:], blocks, blocks)
            out += rest + rest.T
    return out


def cross_block_sums(x: torch.Tensor, y: torch.Tensor, kx: int, ky: int) -> torch.Tensor:
    """kx×ky sums of k(xᵢ, yⱼ) over rows i of x in block p (i mod kx) and j of y in block q (j mod ky)."""
    x, y = x.to(torch.float64), y.to(torch.float64)
    ids_x, ids_y = torch.arange(len(x), device=x.device) % kx, torch.arange(len(y), device=x.device) % ky
    out = torch.zeros(kx, ky, dtype=torch.float64, device=x.device)
    step = _chunk_rows(len(y))
    for start in range(0, len(x), step):
        out += _aggregate(polynomial_kernel(x[start : start + step], y), ids_x[start : start + step], ids_y, kx, ky)
    return out


def _chunk_rows(columns: int) -> int:
    return max(1, _MAX_SHARED_KERNEL // 4 // max(columns, 1))


def _aggregate(kernel: torch.Tensor, row_ids: torch.Tensor, column_ids: torch.Tensor, row_blocks: int, column_blocks: int) -> torch.Tensor:
    """Sums of a kernel chunk's entries by (row block, column block)."""
    by_column = torch.zeros(column_blocks, len(kernel), dtype=kernel.dtype, device=kernel.device).index_add_(0, column_ids, kernel.T)
    return torch.zeros(row_blocks, column_blocks, dtype=kernel.dtype, device=kernel.device).index_add_(0, row_ids, by_column.T)


class KidResampler(Resampler):
    """KID replicates from block-pair kernel sums: the full-data U-statistic for block counts.

    For counts c over the generated blocks and e over the reference's, with n_p rows in block p,
    row weights w = c of the row's block and S the block sums of :func:`block_kernel_sums`:
    U(c, e) = cᵀS_xx c / ((Σ c n)² − Σ c² n) + eᵀS_yy e / ((Σ e n)² − Σ e² n) − 2 cᵀS_xy e / (Σ c n · Σ e n).
    Each term is Σ_{i≠j} wᵢwⱼ k(·ᵢ,·ⱼ) / Σ_{i≠j} wᵢwⱼ: the unbiased MMD² of the replicate with the
    pairs of a row with its own copies left out (all ones: exactly the full-data U_N).
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, mean: float, subset_values: np.ndarray, blocks: int = RESAMPLING_BLOCKS):
        kx, ky = min(blocks, len(x)), min(blocks, len(y))
        self.s_xx = block_kernel_sums(x, kx).cpu().numpy()
        self.s_yy = block_kernel_sums(y, ky).cpu().numpy()
        self.s_xy = cross_block_sums(x, y, kx, ky).cpu().numpy()
        self.n_x = np.bincount(np.arange(len(x)) % kx, minlength=kx).astype(np.float64)
        self.n_y = np.bincount(np.arange(len(y)) % ky, minlength=ky).astype(np.float64)
        self.full = self.u_statistic(np.ones(kx), np.ones(ky))
        self.offset = mean - self.full  # the subsets' draw: its noise is the extra variance below
        s = len(subset_values)
        super().__init__({"generated": kx, "reference": ky}, {"mean": float(np.var(subset_values, ddof=1)) / s if s > 1 else 0.0})

    def u_statistic(self, c: np.ndarray, e: np.ndarray) -> float:
        wx, wy = c @ self.n_x, e @ self.n_y
        pairs_x, pairs_y = wx * wx - (c * c) @ self.n_x, wy * wy - (e * e) @ self.n_y
        if pairs_x <= 0 or pairs_y <= 0:
            return float("nan")
        return float(c @ self.s_xx @ c / pairs_x + e @ self.s_yy @ e / pairs_y - 2.0 * (c @ self.s_xy @ e) / (wx * wy))

    def values(self, counts):
        c, e = counts["generated"].astype(np.float64), counts["reference"].astype(np.float64)
        return {"mean": self.u_statistic(c, e) + self.offset}


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
        values = self._subset_values(generated, reference)
        return {"mean": float(values.mean()), "std": float(values.std())}

    def resampler(self, generated, reference):
        if self.p["subsets"] < 2:
            return None  # one subset: its own noise cannot be estimated; resample the rows instead
        values = _quiet_call(self._subset_values, generated, reference)
        x, y = self.feature_pair(generated, reference)
        return KidResampler(x, y, float(values.mean()), values)

    def _subset_values(self, generated, reference) -> np.ndarray:
        """MMD² of every subset (the subset size clamped to the smaller set, with a warning)."""
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
        return subset_mmds(x, y, self.p["subsets"], size, self.p["seed"])


def _quiet_call(function, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args)


@gan_eval.hookimpl
def register_metrics():
    return [KernelDistance]
