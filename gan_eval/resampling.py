"""The optional fast path of bootstrap intervals: precompute once, then each replicate is cheap.

By default (gan_eval.bootstrap) a replicate builds the resampled :class:`~gan_eval.state.State` and
calls the metric's ``compute()`` again. For metrics whose ``compute()`` is expensive on rows (KID's
kernel sums, k-NN radii), a metric may override :meth:`Metric.resampler` and return a
:class:`Resampler`: it computes once what every replicate needs (sufficient statistics: per-block
kernel sums, nearest-neighbour lists) and maps *unit counts* to values.

Counts: for each role (``"generated"``, ``"reference"``) an integer array over the resampler's
own units saying how often each unit is in the replicate — a bootstrap draw (multinomial counts),
a half-sample (0/1), a jackknife leave-group-out (1 except 0 for the group); a role that is not
resampled (fixed statistics, ``resample_reference=False``) gets all ones, so all ones must give
the estimate itself (or, see ``extra_variance``, the part of it the units carry).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Mapping

import numpy as np


class Resampler(ABC):
    """Maps unit counts to a metric's values without recomputing from the states.

    ``units``: role → number of units the counts index. When they are the states' own units
    (:meth:`State.units`), :meth:`values` may return None for a replicate it cannot do cheaply and
    the bootstrap computes that one from resampled states instead.

    ``extra_variance``: key → variance of an independent part of the estimate's error that no unit
    carries (KID: the random subsets' own spread); the bootstrap adds a seeded normal draw of that
    variance to each replicate of the key, so the interval covers both parts.
    """

    def __init__(self, units: Mapping[str, int], extra_variance: Mapping[str, float] | None = None):
        self.units = {role: int(n) for role, n in units.items()}
        self.extra_variance = dict(extra_variance or {})

    @abstractmethod
    def values(self, counts: Mapping[str, np.ndarray]) -> Mapping[str, float] | None:
        """The metric's values for these unit counts (None: compute this replicate the slow way)."""
        raise NotImplementedError
