"""Half-sample replicates of k-NN manifold metrics (prdc, pr) from one pass over the distances.

A half-sample keeps some points of each set. A kept point's radius is then the (k+1)-th smallest
distance to the *kept* points of its own set (itself included, as in its distance row), so it can
only grow, and with half the points kept it is almost always among the row's L + 1 smallest
entries (:data:`NEIGHBOURS_BEYOND_K` more than k; the chance that fewer than k of L others are
kept is about C(L, k)/2^L, 1e-9 for k = 5). Computed once: each point's L + 1 nearest own-set
entries, and every real–fake pair closer than the real point's (or the fake point's) L + 1-th
entry — no kept radius can reach beyond it, so no other pair can ever count. A replicate then
needs O(N·L) work instead of three N×N distance passes, and equals ``compute()`` on the
half-sample (tested); a replicate where some kept point's radius lies beyond its list, or that is
not 0/1 counts, returns None and is computed from the states instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Mapping

import numpy as np
import torch

from gan_eval.resampling import Resampler

#: Own-set neighbours kept per point beyond the k-th.
NEIGHBOURS_BEYOND_K = 44
#: Most candidate real–fake pairs kept (16 bytes each); beyond it the metric has no fast path.
MAX_PAIRS = 2**24

#: (a, b) → (first row, block of distances of a's rows to all of b) over row blocks of a.
Distances = Callable[[torch.Tensor, torch.Tensor], Iterator[tuple[int, torch.Tensor]]]


class NeighbourLists:
    """Each point's L + 1 smallest own-set distance-row entries (itself included), ascending."""

    def __init__(self, points: torch.Tensor, own_distances: Distances, keep: int):
        keep = min(keep, len(points))
        indices, distances = [], []
        for _, block in own_distances(points, points):
            found = block.topk(keep, dim=1, largest=False)  # sorted ascending
            indices.append(found.indices.cpu())
            distances.append(found.values.cpu())
        self.indices = torch.cat(indices).numpy()
        self.distances = torch.cat(distances).numpy()
        self.complete = keep == len(points)  # the lists hold whole rows: every radius is determined
        self.reach = self.distances[:, -1]

    def radii(self, kept: np.ndarray, k: int) -> np.ndarray | None:
        """Each point's (k+1)-th smallest entry over kept points (NaN for points not kept); None when
        a kept point has fewer than k + 1 kept entries in its list (its radius lies beyond)."""
        present = kept[self.indices]
        seen = np.cumsum(present, axis=1)
        enough = seen[:, -1] >= k + 1
        if not self.complete and not np.all(enough[kept]):
            return None
        position = np.argmax(seen >= k + 1, axis=1)
        radii = self.distances[np.arange(len(position)), position]
        radii[~kept] = np.nan
        radii[~enough] = np.inf  # complete rows: fewer than k + 1 points in the half (compute() would refuse)
        return radii


class HalfSampledNeighbours(Resampler):
    """Per half-sample: precision, recall, density and coverage of fake (``generated``) against real
    (``reference``), radii compared with ``<`` (``strict``, prdc) or ``≤`` (torch-fidelity's P/R)."""

    def __init__(self, real: torch.Tensor, fake: torch.Tensor, k: int, own_distances: Distances, cross_distances: Distances, *, strict: bool):
        self.k, self.strict = k, strict
        keep = k + 1 + NEIGHBOURS_BEYOND_K
        self.real, self.fake = NeighbourLists(real, own_distances, keep), NeighbourLists(fake, own_distances, keep)
        real_reach, fake_reach = torch.from_numpy(self.real.reach), torch.from_numpy(self.fake.reach)
        by_real, by_fake = [], []  # (real i, fake j, distance) pairs that a real's / a fake's radius may reach
        total = 0
        for start, block in cross_distances(real, fake):
            block = block.cpu()
            for reach, out in ((real_reach[start : start + len(block), None], by_real), (fake_reach[None, :], by_fake)):
                i, j = torch.nonzero(self._inside(block, reach), as_tuple=True)
                out.append((i.numpy() + start, j.numpy(), block[i, j].numpy()))
                total += len(i)
            if total > MAX_PAIRS:
                raise ValueError(f"more than {MAX_PAIRS} candidate neighbour pairs: no fast path")
        self.by_real = [np.concatenate(parts) for parts in zip(*by_real)]
        self.by_fake = [np.concatenate(parts) for parts in zip(*by_fake)]
        super().__init__({"generated": len(fake), "reference": len(real)})

    def _inside(self, distances, radii):
        return distances < radii if self.strict else distances <= radii

    def values(self, counts: Mapping[str, np.ndarray]) -> Mapping[str, float] | None:
        fake_kept, real_kept = counts["generated"], counts["reference"]
        if fake_kept.max() > 1 or real_kept.max() > 1:
            return None  # copies of a point: not a half-sample
        fake_kept, real_kept = fake_kept.astype(bool), real_kept.astype(bool)
        n_fake, n_real = int(fake_kept.sum()), int(real_kept.sum())
        if min(n_fake, n_real) <= self.k:
            return None  # compute() clamps k here
        real_radii, fake_radii = self.real.radii(real_kept, self.k), self.fake.radii(fake_kept, self.k)
        if real_radii is None or fake_radii is None:
            return None
        i, j, d = self.by_real
        near_real = real_kept[i] & fake_kept[j] & self._inside(d, real_radii[i])  # NaN radii (not kept) compare False
        i_f, j_f, d_f = self.by_fake
        near_fake = real_kept[i_f] & fake_kept[j_f] & self._inside(d_f, fake_radii[j_f])
        return {
            "precision": np.count_nonzero(np.bincount(j[near_real], minlength=len(fake_kept))) / n_fake,
            "recall": np.count_nonzero(np.bincount(i_f[near_fake], minlength=len(real_kept))) / n_real,
            "density": np.count_nonzero(near_real) / n_fake / self.k,
            "coverage": np.count_nonzero(np.bincount(i[near_real], minlength=len(real_kept))) / n_real,
        }
