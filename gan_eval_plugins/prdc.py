"""Precision, recall, density and coverage (Naeem et al., ICML 2020), as the ``prdc`` package computes them.

Real = the reference, fake = the generated set. The radius of a point is the Euclidean distance to its
k-th nearest neighbour in its own set, the point itself not counted (the (k+1)-th smallest entry of
its distance row, whose own entry is zeroed as scikit-learn does). With D the real×fake distances and
strict comparisons, as ``prdc.compute_prdc``:

* precision = fraction of fakes with D[i, j] < radius(realᵢ) for some real i;
* recall    = fraction of reals with D[i, j] < radius(fakeⱼ) for some fake j;
* density   = (1/k) · mean over fakes of the number of reals i with D[i, j] < radius(realᵢ);
* coverage  = fraction of reals whose nearest fake is closer than their own radius.

Distances use scikit-learn's expansion √max(0, ‖a‖² − 2aᵀb + ‖b‖²) in float64 and are computed in
blocks of real (or own-set) rows against all columns, at most :data:`_BLOCK_ELEMENTS` distances at a
time, so memory is O(block + N) and never an N×N matrix; all four values come from one pass over D.

Intervals: half-sampling (``resampling = "half"``, gan_eval.bootstrap), as for ``pr``: a resample
with replacement puts copies of a point at distance 0 and shrinks the radii. The replicates come
from one pass over the distances (gan_eval_plugins.knn_halves), not three passes each.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import torch

import gan_eval
from gan_eval.errors import GanEvalError
from gan_eval.params import Param
from gan_eval_plugins.feature_rows import FeatureRowsMetric
from gan_eval_plugins.knn_halves import HalfSampledNeighbours

#: Distances computed at once (float64: 128 MiB a block).
_BLOCK_ELEMENTS = 2**24


def distance_blocks(
    a: torch.Tensor,
    b: torch.Tensor,
    *,
    same: bool = False,
    origin: torch.Tensor | None = None,
) -> Iterator[tuple[int, torch.Tensor]]:
    """(first row, block of ‖aᵢ − bⱼ‖) over row blocks of ``a``; ``same`` (a is b) zeroes the i = j
    entries and, given ``origin`` (each row's original index in a bootstrap resample), sets the
    entries between other copies of one original row to +inf, so a copy is never its own neighbour."""
    a_sq, b_sq = (a * a).sum(dim=1), (b * b).sum(dim=1)
    step = max(1, _BLOCK_ELEMENTS // max(len(b), 1))
    for start in range(0, len(a), step):
        block = a[start : start + step] @ b.T
        block.mul_(-2.0).add_(a_sq[start : start + step, None]).add_(b_sq[None, :]).clamp_min_(0.0).sqrt_()
        if same:
            if origin is not None:
                block[origin[start : start + step, None] == origin[None, :]] = float("inf")
            rows = torch.arange(len(block), device=block.device)
            block[rows, rows + start] = 0.0
        yield start, block


def nearest_neighbour_radii(points: torch.Tensor, k: int, origin: torch.Tensor | None = None) -> torch.Tensor:
    """Distance from each row to its k-th nearest other row (needs more than k rows)."""
    # the (k+1)-th smallest entry of each row (its own zero included); topk is several times faster than kthvalue
    blocks = distance_blocks(points, points, same=True, origin=origin)
    return torch.cat([block.topk(k + 1, dim=1, largest=False).values[:, -1] for _, block in blocks])


def state_origin(state) -> torch.Tensor | None:
    """The original row indices of a bootstrap row resample (None for an accumulated state)."""
    origin = getattr(state, "origin", None)
    return None if origin is None else torch.as_tensor(origin)


def prdc(
    reference: torch.Tensor,
    generated: torch.Tensor,
    k: int = 5,
    *,
    reference_origin: torch.Tensor | None = None,
    generated_origin: torch.Tensor | None = None,
) -> dict[str, float]:
    """Precision, recall, density, coverage of ``generated`` (fake) against ``reference`` (real).
    The origins (bootstrap resamples) keep copies of a row out of its neighbours."""
    if reference.ndim != 2 or generated.ndim != 2 or reference.shape[1] != generated.shape[1]:
        raise ValueError(f"prdc needs two N×d feature matrices of equal d, got {tuple(reference.shape)} and {tuple(generated.shape)}")
    if k < 1 or min(len(reference), len(generated)) <= k:
        raise ValueError(f"k = {k} nearest neighbours need k ≥ 1 and more than k images in each set (reference: {len(reference)}, generated: {len(generated)})")
    real, fake = reference.to(torch.float64), generated.to(torch.float64)
    real_radii = nearest_neighbour_radii(real, k, reference_origin)
    fake_radii = nearest_neighbour_radii(fake, k, generated_origin)
    reals_around_fake = torch.zeros(len(fake), dtype=torch.int64, device=fake.device)
    recalled = torch.zeros(len(real), dtype=torch.bool, device=real.device)
    covered = torch.zeros(len(real), dtype=torch.bool, device=real.device)
    for start, block in distance_blocks(real, fake):
        radii = real_radii[start : start + len(block), None]
        reals_around_fake += (block < radii).sum(dim=0)
        recalled[start : start + len(block)] = (block < fake_radii[None, :]).any(dim=1)
        covered[start : start + len(block)] = block.min(dim=1).values < radii[:, 0]
    return {
        "precision": float((reals_around_fake > 0).to(torch.float64).mean()),
        "recall": float(recalled.to(torch.float64).mean()),
        "density": float(reals_around_fake.to(torch.float64).mean()) / k,
        "coverage": float(covered.to(torch.float64).mean()),
    }


class PRDC(FeatureRowsMetric):
    name = "prdc"
    summary = "precision, recall, density, coverage (Naeem et al. 2020, k = 5), exactly as the prdc package"
    primary = "coverage"
    higher_is_better = True
    state_params = frozenset()  # k acts in compute() only: the reference state is the rows
    params = {"k": Param(5, "the k-th nearest neighbour sets each point's radius (clamped, with a warning, below the set sizes)")}
    resampling = "half"

    def resampler(self, generated, reference):
        fake, real = self.feature_pair(generated, reference)
        if self.p["k"] < 1 or min(len(real), len(fake)) // 2 <= self.p["k"]:
            return None  # half-samples would clamp k: compute() handles that
        real, fake = real.to(torch.float64), fake.to(torch.float64)
        return HalfSampledNeighbours(real, fake, self.p["k"], lambda a, b: distance_blocks(a, b, same=True), lambda a, b: distance_blocks(a, b), strict=True)

    def compute(self, generated, reference):
        fake, real = self.feature_pair(generated, reference)
        k = self.p["k"]
        if k < 1:
            raise GanEvalError(f"prdc: k must be at least 1, got {k}")
        smallest = min(len(real), len(fake))
        if smallest <= k:
            if smallest < 2:
                raise GanEvalError(f"prdc: needs at least 2 images in each set (reference: {len(real)}, generated: {len(fake)})")
            warnings.warn(
                f"k clamped from {k} to {smallest - 1}: a set has only {smallest} images (reference: {len(real)}, "
                f"generated: {len(fake)}), so no point has {k} other neighbours; the values are not comparable "
                f"with k = {k}",
                stacklevel=2,
            )
            k = smallest - 1
        return prdc(real, fake, k, reference_origin=state_origin(reference), generated_origin=state_origin(generated))


@gan_eval.hookimpl
def register_metrics():
    return [PRDC]
