"""Shared pieces of the interval coverage tests: synthetic Gaussian features and exact population values."""

from __future__ import annotations

import numpy as np
import torch

from gan_eval.bootstrap import metric_intervals
from gan_eval.state import State

#: Second set: a shifted, correlated Gaussian against a standard one, in d = 2.
SHIFT = np.array([0.5, 0.5])
MIXING = np.array([[1.3, 0.2], [0.2, 0.8]])


def gaussian_pair(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 2)), rng.standard_normal((n, 2)) @ MIXING.T + SHIFT


def state_of(metric, rows: np.ndarray, blocks: int = 0, batch: int = 50) -> State:
    """The state the engine would accumulate: batches numbered globally, ``blocks`` blocks."""
    state = State(metric.state_spec(), blocks=blocks)
    for i in range(0, len(rows), batch):
        state.begin_batch(i // batch)
        metric.update(state, {"features": torch.from_numpy(rows[i : i + batch])})
    return state


def coverage(metric, truth, *, n: int, reps: int, resamples: int, blocks: int = 0, key: str | None = None, pair=gaussian_pair) -> float:
    """Fraction of ``reps`` seeded repetitions whose interval for ``key`` contains ``truth``
    (a number, or a function of the repetition's estimates list, evaluated after all of them)."""
    key = key or metric.primary
    intervals, estimates = [], []
    for rep in range(reps):
        x, y = pair(n, rep)
        gen, ref = state_of(metric, x, blocks), state_of(metric, y, blocks)
        values = metric.compute(gen, ref)
        estimates.append(values[key])
        intervals.append(metric_intervals(metric, gen, ref, resamples=resamples, seed=rep, values=values)[key])
    target = truth(estimates) if callable(truth) else truth
    return float(np.mean([iv.low <= target <= iv.high for iv in intervals]))


def coverages(metric, truth, *, n: int, reps: int, resamples: int, keys: list[str], blocks: int = 0) -> dict[str, float]:
    """Per key, the fraction of ``reps`` seeded repetitions whose interval contains ``truth[key]``."""
    hits = {key: 0 for key in keys}
    for rep in range(reps):
        x, y = gaussian_pair(n, rep)
        gen, ref = state_of(metric, x, blocks), state_of(metric, y, blocks)
        values = metric.compute(gen, ref)
        found = metric_intervals(metric, gen, ref, resamples=resamples, seed=rep, values=values)
        for key in keys:
            hits[key] += found[key].low <= truth[key] <= found[key].high
    return {key: hits[key] / reps for key in keys}


def expected_values(metric, keys: list[str], *, n: int, reps: int, first_seed: int = 10**6) -> dict[str, float]:
    """E[value at N] per key, as the mean over ``reps`` independent repetitions (seeds from
    ``first_seed``: none shared with the coverage repetitions); its standard error is the spread of
    the value over √reps."""
    found = {key: [] for key in keys}
    for rep in range(first_seed, first_seed + reps):
        x, y = gaussian_pair(n, rep)
        values = metric.compute(state_of(metric, x), state_of(metric, y))
        for key in keys:
            found[key].append(values[key])
    return {key: float(np.mean(v)) for key, v in found.items()}


def polynomial_kernel_mean(mu_a, cov_a, mu_b, cov_b) -> float:
    """E[(aᵀb/d + 1)³] for independent a ~ N(mu_a, cov_a), b ~ N(mu_b, cov_b), exactly.

    Given a, t = aᵀb + d is N(m, v) with m = aᵀmu_b + d, v = aᵀ cov_b a, so E[t³ | a] = m³ + 3mv, a
    cubic polynomial in a whose mean Gauss–Hermite quadrature with 4 nodes per axis gets exactly."""
    d = len(mu_a)
    nodes, weights = np.polynomial.hermite_e.hermegauss(4)
    weights = weights / weights.sum()
    chol = np.linalg.cholesky(cov_a)
    grid = np.stack(np.meshgrid(*[nodes] * d, indexing="ij"), -1).reshape(-1, d)
    w = np.prod(np.stack(np.meshgrid(*[weights] * d, indexing="ij"), -1).reshape(-1, d), axis=1)
    a = mu_a + grid @ chol.T
    m = a @ mu_b + d
    v = np.einsum("ni,ij,nj->n", a, cov_b, a)
    return float(np.sum(w * (m**3 + 3 * m * v)) / d**3)


def gaussian_moments_kernel_mean(mu_a, cov_a, mu_b, cov_b) -> float:
    """E[(aᵀb/d + 1)³] for independent Gaussians in any d, exactly, from their first three moments:
    with t = aᵀb, E[t] = μ_aᵀμ_b, E[t²] = ⟨M_a, M_b⟩ (M = Σ + μμᵀ) and E[t³] = ⟨T_a, T_b⟩ with the
    third-moment tensor Tᵢⱼₖ = μᵢμⱼμₖ + μᵢΣⱼₖ + μⱼΣᵢₖ + μₖΣᵢⱼ."""
    d = len(mu_a)

    def third(mu, cov):
        return np.einsum("i,j,k->ijk", mu, mu, mu) + np.einsum("i,jk->ijk", mu, cov) + np.einsum("j,ik->ijk", mu, cov) + np.einsum("k,ij->ijk", mu, cov)

    t1 = mu_a @ mu_b
    t2 = np.sum((cov_a + np.outer(mu_a, mu_a)) * (cov_b + np.outer(mu_b, mu_b)))
    t3 = np.sum(third(mu_a, cov_a) * third(mu_b, cov_b))
    return float(1 + 3 * t1 / d + 3 * t2 / d**2 + t3 / d**3)


def gaussian_pair_in(d: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """N(0, I) against N(SHIFT_D, A Aᵀ) in d dimensions (A = 0.9 I + 0.1)."""
    rng = np.random.default_rng(seed)
    mixing = 0.9 * np.eye(d) + 0.1
    return rng.standard_normal((n, d)), rng.standard_normal((n, d)) @ mixing.T + 0.3


def true_mmd2_in(d: int) -> float:
    """Population MMD² (KID's kernel) of :func:`gaussian_pair_in`'s two Gaussians."""
    mixing = 0.9 * np.eye(d) + 0.1
    mu_x, cov_x, mu_y, cov_y = np.zeros(d), np.eye(d), np.full(d, 0.3), mixing @ mixing.T
    k = gaussian_moments_kernel_mean
    return k(mu_x, cov_x, mu_x, cov_x) + k(mu_y, cov_y, mu_y, cov_y) - 2 * k(mu_x, cov_x, mu_y, cov_y)


def true_mmd2() -> float:
    """Population MMD² (KID's kernel) between N(0, I) and the shifted correlated Gaussian."""
    mu_x, cov_x, mu_y, cov_y = np.zeros(2), np.eye(2), SHIFT, MIXING @ MIXING.T
    return (
        polynomial_kernel_mean(mu_x, cov_x, mu_x, cov_x)
        + polynomial_kernel_mean(mu_y, cov_y, mu_y, cov_y)
        - 2 * polynomial_kernel_mean(mu_x, cov_x, mu_y, cov_y)
    )
