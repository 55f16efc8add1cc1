"""Improved precision and recall (Kynkäänniemi et al., 2019), with torch-fidelity's definitions.

Each set's manifold is the union of balls around its points, the radius of a point being the
Euclidean distance to its k-th nearest neighbour in its own set (k = 3; the point itself is not
counted). ``precision`` = fraction of generated samples inside the reference manifold (distance ≤ the
radius of at least one reference point); ``recall`` = fraction of reference samples inside the
generated manifold; ``f_score`` = 2·P·R / max(1e-5, P + R) (torch-fidelity's). Distances are computed
in float64 in row blocks, so memory stays O(block × N) rather than O(N²).

Guards: N ≤ k in either set is an error (no k-th neighbour). Intervals: half-sampling
(``resampling = "half"``, gan_eval.bootstrap): a bootstrap resample with replacement would put copies
of a point at distance 0 from each other, shrinking the k-NN radii and leaving fewer distinct balls,
which biases precision and recall (measured: every replicate below the estimate); halves drawn
without replacement have no ties. The replicates come from one pass over the distances
(gan_eval_plugins.knn_halves), not three passes each.
"""

from __future__ import annotations

import torch

import gan_eval
from gan_eval.errors import GanEvalError
from gan_eval.params import Param
from gan_eval.resampling import Resampler
from gan_eval_plugins.feature_rows import FeatureRowsMetric
from gan_eval_plugins.knn_halves import HalfSampledNeighbours

#: Distance-matrix elements computed at once (float64: 128 MiB).
_BLOCK_ELEMENTS = 2**24


def _row_blocks(rows: torch.Tensor, columns: int):
    step = max(1, _BLOCK_ELEMENTS // max(columns, 1))
    return rows.split(step)


def cdist_blocks(a: torch.Tensor, b: torch.Tensor):
    """(first row, torch.cdist of a row block of ``a`` against ``b``) over ``a``'s row blocks."""
    start = 0
    for block in _row_blocks(a, len(b)):
        yield start, torch.cdist(block, b)
        start += len(block)


def knn_radii(points: torch.Tensor, k: int = 3) -> torch.Tensor:
    """Distance from each row to its k-th nearest other row (the row itself is the 0-th)."""
    return torch.cat([torch.cdist(block, points).kthvalue(k + 1, dim=1).values for block in _row_blocks(points, len(points))])


def coverage(queries: torch.Tensor, points: torch.Tensor, radii: torch.Tensor) -> float:
    """Fraction of ``queries`` within ``radii[j]`` of some ``points[j]``."""
    inside = [(torch.cdist(block, points) <= radii).any(dim=1) for block in _row_blocks(queries, len(points))]
    return float(torch.cat(inside).to(torch.float64).mean())


def precision_recall(generated: torch.Tensor, reference: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """(precision, recall) of ``generated`` features against ``reference`` features (float64)."""
    if generated.ndim != 2 or reference.ndim != 2 or generated.shape[1] != reference.shape[1]:
        raise ValueError(f"precision/recall needs two N×d feature matrices of equal d, got {tuple(generated.shape)} and {tuple(reference.shape)}")
    if min(len(generated), len(reference)) <= k:
        raise ValueError(f"k = {k} nearest neighbours need more than {k} images in each set (got {len(generated)} and {len(reference)})")
    generated, reference = generated.to(torch.float64), reference.to(torch.float64)
    precision = coverage(generated, reference, knn_radii(reference, k))
    recall = coverage(reference, generated, knn_radii(generated, k))
    return precision, recall


class PrecisionRecall(FeatureRowsMetric):
    name = "pr"
    summary = "improved precision and recall (k-NN manifolds, k = 3), F-score; torch-fidelity's definitions"
    primary = "f_score"
    higher_is_better = True
    state_params = frozenset()  # parameters act in compute() only: the reference state does not depend on them
    params = {"k": Param(3, "the k-th nearest neighbour sets each point's radius")}
    resampling = "half"

    def resampler(self, generated, reference):
        x, y = self.feature_pair(generated, reference)
        if self.p["k"] < 1 or min(len(x), len(y)) // 2 <= self.p["k"]:
            return None  # compute() refuses such half-samples
        halves = HalfSampledNeighbours(y.to(torch.float64), x.to(torch.float64), self.p["k"], cdist_blocks, cdist_blocks, strict=False)
        return _PrecisionRecallHalves(halves)

    def compute(self, generated, reference):
        x, y = self.feature_pair(generated, reference)
        if self.p["k"] < 1:
            raise GanEvalError("pr: k must be at least 1")
        try:
            precision, recall = precision_recall(x, y, self.p["k"])
        except ValueError as exc:
            raise GanEvalError(f"pr: {exc}") from None
        return pr_values(precision, recall)


class _PrecisionRecallHalves(Resampler):
    """pr's values from the shared k-NN half-sample replicates (precision, recall, F-score)."""

    def __init__(self, halves: HalfSampledNeighbours):
        super().__init__(halves.units)
        self.halves = halves

    def values(self, counts):
        found = self.halves.values(counts)
        if found is None:
            return None
        precision, recall = found["precision"], found["recall"]
        return pr_values(precision, recall)


def pr_values(precision: float, recall: float) -> dict[str, float]:
    """The metric's values: precision, recall and torch-fidelity's F-score."""
    return {"precision": precision, "recall": recall, "f_score": 2 * precision * recall / max(1e-5, precision + recall)}


@gan_eval.hookimpl
def register_metrics():
    return [PrecisionRecall]
