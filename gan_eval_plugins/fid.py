"""Fréchet Inception Distance (Heusel et al., 2017) from streaming float64 statistics.

State: three ``sum`` accumulators — ``count``, ``sum`` (Σx) and ``outer`` (Σxxᵀ), all float64 — so
memory does not depend on the number of images and shards merge exactly. From them, the mean and
the unbiased covariance (ddof = 1, as numpy's ``np.cov`` in pytorch-fid and torch-fidelity).

    FID = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr √(Σ₁Σ₂)

The trace term is computed in float64 without a general matrix square root: for any factor F with
F Fᵀ = Σ₁ (Cholesky; pivoted Cholesky to Σ₁'s rank when N ≤ d makes it singular), Fᵀ Σ₂ F is symmetric positive
semi-definite and has the eigenvalues of Σ₁Σ₂, so tr √(Σ₁Σ₂) = Σᵢ √λᵢ(Fᵀ Σ₂ F) (``eigvalsh``; round-off
negatives clamped to 0). That is several times faster than scipy's ``sqrtm`` and has no complex parts.

The reported ``fid`` is clamped at 0 (round-off makes FID of a set against itself slightly
negative); the raw value is kept in ``details()["raw_fid"]``. Intervals come from the State's blocks
(gan_eval.bootstrap). ``curve=true`` adds FID against N (nested block subsets, log grid, with
intervals) to ``details()["curve"]``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.linalg
import torch

import gan_eval
from gan_eval.errors import GanEvalError, InputError
from gan_eval.metric import Metric
from gan_eval.params import Param


#: n, Σx, Σxxᵀ: float64 sums, so shards and batches merge exactly.
STATE_SPEC = {"count": "sum", "sum": "sum", "outer": "sum"}


@dataclass(frozen=True)
class CovarianceFactor:
    """F with F Fᵀ = Σ, reusable across many FID computations against the same statistics."""

    factor: np.ndarray  # d×d lower-triangular (Cholesky), or d×r for a covariance of rank r < d
    triangular: bool  # lower-triangular Cholesky factor (cheaper products) or a dense d×r factor


def covariance_factor(sigma: np.ndarray) -> CovarianceFactor:
    """Cholesky factor of ``sigma`` when it is positive definite, else a d×r factor of its rank r.

    A covariance of N ≤ d images has rank N − 1 and round-off makes it slightly indefinite, so the
    plain Cholesky fails. Cholesky with complete pivoting (LAPACK ``dpstrf``) then stops at the
    numerical rank r (remaining pivots below d·ε·max diag), giving Σ = F Fᵀ with F = P·L[:, :r].
    tr √(Σ₁Σ₂) then comes from an r×r problem: exact up to that round-off (measured 4e-10 relative
    against the trace computed from the features at N = 64, d = 2048, where an eigen-decomposition
    of Σ₁ with its negative round-off clipped was off by 3e-7) and 16× faster.
    """
    sigma = np.asarray(sigma, dtype=np.float64)
    try:  # scipy's factor is Fortran-ordered, so the BLAS calls below take it without a copy
        return CovarianceFactor(scipy.linalg.cholesky(sigma, lower=True, check_finite=False), True)
    except np.linalg.LinAlgError:
        pivoted, pivots, rank, info = scipy.linalg.lapack.dpstrf(sigma, lower=1)
        if info < 0:
            raise ValueError(f"pivoted Cholesky refused its argument {-info}") from None
        factor = np.zeros((len(sigma), rank))
        factor[pivots - 1] = np.tril(pivoted)[:, :rank]  # rows back in the original order: F = P·L
        return CovarianceFactor(factor, False)


def trace_sqrt_product(sigma1: np.ndarray | CovarianceFactor, sigma2: np.ndarray, eigenvalues: Callable[[np.ndarray], np.ndarray] | None = None) -> float:
    """tr √(Σ₁Σ₂) for symmetric positive semi-definite Σ₁, Σ₂ (Σ₁ may be given as its factor).

    Σ₁ is the one factored: pass the singular one (fewer images) first. The other way round, Σ₁'s
    round-off eigenvalues near 0 enter the sum as their square roots (measured: 5e-8 relative).
    ``eigenvalues`` (of a symmetric matrix given by its lower triangle, overwritten) replaces
    scipy's ``eigh``: bootstrap replicates pass the faster two-stage routine.
    """
    factor = sigma1 if isinstance(sigma1, CovarianceFactor) else covariance_factor(sigma1)
    f = factor.factor
    sigma2 = np.asarray(sigma2, dtype=np.float64)
    if f.shape[1] == 0:  # Σ₁ = 0 (e.g. identical images)
        return 0.0
    if factor.triangular:  # Lᵀ Σ₂ L by LAPACK's dsygst (itype 2): one pass that uses the symmetry of Σ₂,
        # 25 % faster than two triangular products. It writes the lower triangle, which is all eigh reads.
        # Σ₂ is symmetric, so Σ₂ᵀ is the same matrix already in LAPACK's (Fortran) order: one copy, not two.
        inner, info = scipy.linalg.lapack.dsygst(sigma2.T, np.asfortranarray(f), itype=2, lower=1)
        if info != 0:
            raise ValueError(f"dsygst refused its argument {-info}")
    else:  # rank r < d: an r×r problem
        inner = f.T @ sigma2 @ f
    # eigh reads the lower triangle only, so the product needs no symmetrising.
    if eigenvalues is None:
        found = scipy.linalg.eigh(inner, eigvals_only=True, lower=True, driver="evr", overwrite_a=True, check_finite=False)
    else:
        found = eigenvalues(inner)
    return float(np.sqrt(np.clip(found, 0.0, None)).sum())


def frechet_distance(mu1, sigma1, mu2, sigma2, eigenvalues: Callable[[np.ndarray], np.ndarray] | None = None) -> float:
    """FID between two Gaussians given as means and covariances (float64; symmetric in its arguments).

    ``sigma1`` may be a :class:`CovarianceFactor` (cache the reference's: one reference, many models);
    ``eigenvalues``: see :func:`trace_sqrt_product`.
    """
    mu1, mu2 = np.asarray(mu1, dtype=np.float64), np.asarray(mu2, dtype=np.float64)
    sigma2 = np.asarray(sigma2, dtype=np.float64)
    trace1 = float(np.sum(np.square(sigma1.factor))) if isinstance(sigma1, CovarianceFactor) else float(np.trace(sigma1))
    if mu1.ndim != 1 or mu1.shape != mu2.shape or sigma2.shape != (mu1.size, mu1.size):
        raise ValueError(f"FID needs means of equal length d and d×d covariances, got {mu1.shape}, {mu2.shape}, {sigma2.shape}")
    for name, value in (("mu1", mu1), ("mu2", mu2), ("sigma2", sigma2)):
        if not np.all(np.isfinite(value)):
            raise ValueError(f"FID input {name} contains NaN or Inf")
    if not isinstance(sigma1, CovarianceFactor):
        sigma1 = np.asarray(sigma1, dtype=np.float64)
        if sigma1.shape != sigma2.shape or not np.all(np.isfinite(sigma1)):
            raise ValueError(f"FID input sigma1 must be a finite {sigma2.shape} matrix")
    diff = mu1 - mu2
    return float(diff @ diff + trace1 + np.trace(sigma2) - 2.0 * trace_sqrt_product(sigma1, sigma2, eigenvalues))


def validate_gaussian_stats(mu, sigma, where: str, *, rtol: float = 1e-6) -> None:
    """Refuse statistics that are not a finite mean and a symmetric positive semi-definite covariance
    of matching size (``where`` names the file or input in the error).

    Symmetry is checked relative to the largest entry (|Σ − Σᵀ| ≤ rtol·max|Σ|); positive
    semi-definiteness allows round-off: no eigenvalue below −rtol·max|eigenvalue|.
    """
    mu, sigma = np.asarray(mu), np.asarray(sigma)
    if mu.ndim != 1 or mu.size == 0:
        raise InputError(where, f"the mean must be a non-empty vector, got shape {mu.shape}")
    if sigma.shape != (mu.size, mu.size):
        raise InputError(where, f"the covariance must be {mu.size}×{mu.size} to match the mean, got shape {sigma.shape}")
    for name, value in (("mean", mu), ("covariance", sigma)):
        if not np.issubdtype(value.dtype, np.number) or not np.all(np.isfinite(value)):
            raise InputError(where, f"the {name} contains NaN, Inf or non-numbers")
    sigma = sigma.astype(np.float64)
    scale = float(np.max(np.abs(sigma)))
    asymmetry = float(np.max(np.abs(sigma - sigma.T)))
    if asymmetry > rtol * scale:
        raise InputError(where, f"the covariance is not symmetric (max |Σ − Σᵀ| = {asymmetry:.3g}, max |Σ| = {scale:.3g})")
    eigenvalues = scipy.linalg.eigvalsh((sigma + sigma.T) / 2)
    largest = float(np.max(np.abs(eigenvalues)))
    if eigenvalues[0] < -rtol * largest:
        raise InputError(where, f"the covariance is not positive semi-definite (eigenvalue {eigenvalues[0]:.3g}, largest {largest:.3g})")


def moments_from_sums(count: float, total: np.ndarray, outer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance (ddof = 1) from n, Σx and Σxxᵀ."""
    mu = total / count
    sigma = (outer - np.outer(total, total) / count) / (count - 1)
    return mu, (sigma + sigma.T) / 2


def moments(state: gan_eval.State, where: str) -> tuple[int | None, np.ndarray, np.ndarray]:
    """(image count, mean, covariance) of a FID state.

    A state whose count is 0 holds externally given moments (a pytorch-fid ``mu``/``sigma`` file:
    ``sum`` is μ, ``outer`` is Σ, the image count is unknown and returned as None); such a state is
    only ever used as a reference, never merged.
    """
    count = state.numpy("count")
    if count is None:
        raise GanEvalError(f"fid: the {where} set has no images")
    n = float(count)
    if n == 0:
        return None, state.numpy("sum"), state.numpy("outer")
    if n < 2:
        raise GanEvalError(f"fid: the {where} set has {int(n)} image; the covariance needs at least 2")
    return int(round(n)), *moments_from_sums(n, state.numpy("sum"), state.numpy("outer"))


def state_from_moments(mu: np.ndarray, sigma: np.ndarray) -> gan_eval.State:
    """A reference state holding given moments (image count unknown; see :func:`moments`)."""
    state = gan_eval.State(STATE_SPEC)
    state.add("count", 0.0)
    state.add("sum", torch.from_numpy(np.asarray(mu, dtype=np.float64)))
    state.add("outer", torch.from_numpy(np.asarray(sigma, dtype=np.float64)))
    return state


class FrechetDistance(Metric):
    name = "fid"
    summary = "Fréchet distance between feature Gaussians (FID); float64 streaming statistics, eigh-based trace"
    requires = frozenset({"features"})
    reference = "required"
    primary = "fid"
    higher_is_better = False
    state_params = frozenset({"per_class"})  # the others act in compute() only: the reference state does not depend on them
    params = {
        "per_class": Param(
            False,
            "also report intra-class FID: the mean over classes of FID within each class, per-class values in details (needs labels: datasets, conditional generators)",
        ),
        "curve": Param(False, "also record FID against N (nested subsets of the state's blocks, log grid, with intervals)"),
        "curve_resamples": Param(100, "bootstrap resamples per point of the curve"),
        "seed": Param(0, "seed of the curve's bootstrap (the run's --seed unless given)"),
    }

    def state_spec(self):
        return {**STATE_SPEC, "rows": "cat", "labels": "cat"} if self.p["per_class"] else STATE_SPEC

    def update(self, state, inputs):
        x = inputs["features"].to(torch.float64)
        state.add("count", float(x.shape[0]))
        state.add("sum", x.sum(dim=0))
        state.add("outer", x.T @ x)
        if self.p["per_class"]:
            if "labels" not in inputs:
                raise GanEvalError("fid: per_class=true needs class labels, and this source has none (datasets and conditional generators give them)")
            state.append("rows", inputs["features"].detach().float())
            state.append("labels", inputs["labels"].to(torch.int64))

    def compute(self, generated, reference):
        values = {"fid": max(self.raw_fid(generated, reference), 0.0)}
        if self.p["per_class"]:
            per_class = self.per_class_fid(generated, reference)
            if per_class:
                values["fid_class_mean"] = float(np.mean(list(per_class.values())))
        return values

    def resampler(self, generated, reference):
        if self.p["per_class"]:
            return None  # per-class FID needs the rows: replicates from resampled states
        from gan_eval_plugins.fid_resampler import FidResampler

        return FidResampler.of(generated, reference)

    def per_class_fid(self, generated, reference) -> dict[str, float]:
        """Intra-class FID: FID between the generated and the reference images of each class present
        in both with at least 2 images each (classes with fewer are left out, with a warning)."""
        x, a, y, b = generated.numpy("rows"), generated.numpy("labels"), reference.numpy("rows"), reference.numpy("labels")
        if x is None or y is None or a is None or b is None:
            return {}
        out, skipped = {}, []
        for label in sorted(set(a.tolist()) | set(b.tolist())):
            gen, ref = x[a == label].astype(np.float64), y[b == label].astype(np.float64)
            if len(gen) < 2 or len(ref) < 2:
                skipped.append(str(label))
                continue
            out[str(label)] = max(frechet_distance(gen.mean(0), np.cov(gen, rowvar=False), ref.mean(0), np.cov(ref, rowvar=False)), 0.0)
        if skipped:
            warnings.warn(f"per-class FID leaves out class(es) {', '.join(skipped)}: fewer than 2 images in a set", stacklevel=2)
        return out

    def raw_fid(self, generated, reference, *, warn: bool = True) -> float:
        """FID before clamping at 0 (round-off can make it slightly negative for near-identical sets)."""
        n_gen, mu1, sigma1 = moments(generated, "generated")
        n_ref, mu2, sigma2 = moments(reference, "reference")
        dim = mu1.shape[0]
        if mu2.shape[0] != dim:
            raise GanEvalError(f"fid: generated features are {dim}-d but the reference's are {mu2.shape[0]}-d (different extractors?)")
        for label, n in (("generated", n_gen), ("reference", n_ref)):
            if warn and n is not None and n <= dim:
                warnings.warn(
                    f"the {label} set has {n} images for {dim}-d features (N ≤ d): its covariance is singular, "
                    f"so FID is biased upwards and not comparable with FID from more images; use more than {dim}",
                    stacklevel=3,
                )
        if n_gen is not None and n_ref is not None and n_ref < n_gen:  # factor the smaller set's covariance:
            mu1, sigma1, mu2, sigma2 = mu2, sigma2, mu1, sigma1  # when singular, its rank sets the problem size
        return frechet_distance(mu1, sigma1, mu2, sigma2)

    def details(self, generated, reference):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            details = {"raw_fid": self.raw_fid(generated, reference, warn=False)}
            if self.p["per_class"]:
                details["per_class"] = self.per_class_fid(generated, reference)
            if self.p["curve"]:
                from gan_eval_plugins.fid_curve import fid_curve

                details["curve"] = fid_curve(self, generated, reference, resamples=self.p["curve_resamples"], seed=self.p["seed"])
        return details

    # --- stored states (cache entries, stats files): checked on read; pytorch-fid's view ------------
    def check_state(self, state, where):
        count, total, outer = state.numpy("count"), state.numpy("sum"), state.numpy("outer")
        if count is None or total is None or outer is None:
            raise InputError(where, "fid statistics need count, sum and outer arrays")
        if count.ndim != 0 or total.ndim != 1 or outer.shape != (total.size, total.size):
            raise InputError(where, f"fid statistics have inconsistent shapes: count {count.shape}, sum {total.shape}, outer {outer.shape}")
        n = float(count)
        if n == 0:  # given moments (a pytorch-fid file)
            validate_gaussian_stats(total, outer, where)
        elif n < 2 or n != round(n):
            raise InputError(where, f"fid statistics hold an image count of {n:g}: at least 2 whole images are needed")
        else:
            validate_gaussian_stats(*moments_from_sums(n, total, outer), where)

    def stats_arrays(self, state):
        _, mu, sigma = moments(state, "reference")
        return {"mu": mu, "sigma": sigma}  # what pytorch-fid reads

    @classmethod
    def state_from_foreign_stats(cls, arrays, where):
        if set(arrays) != {"mu", "sigma"}:
            return None
        mu, sigma = arrays["mu"], arrays["sigma"]
        if mu.dtype.kind != "f" or sigma.dtype.kind != "f":
            raise InputError(where, f"mu and sigma must be floating point, got {mu.dtype} and {sigma.dtype}")
        validate_gaussian_stats(mu, sigma, where)
        return state_from_moments(mu, sigma)


@gan_eval.hookimpl
def register_metrics():
    return [FrechetDistance]
