"""Bootstrap confidence intervals for any metric, from its saved states alone.

A resample draws the generated set's units (rows or blocks, see :meth:`State.units`) with
replacement, and the reference's too unless it is fixed statistics; the metric's own ``compute()``
then runs on :meth:`State.resampled` states. The network never runs again and no state is copied
whole: a block resample is Σₖ countₖ·blockₖ (a K-term weighted sum), a row resample a gather.

A metric declaring ``resampling = "half"`` (k-NN statistics, where copies of a point at distance 0
distort radii) gets half-sampling instead: each replicate takes half of each set's units without
replacement. For a mean, Var(θ_{N/2} − θ_N) = Var(θ_N) (finite-population correction), so the
replicates' deviations from the estimate stand for the estimate's error: the interval is the
percentile one, [q_low, q_high], of the replicates re-centred on θ (a k-NN statistic at N/2
differs systematically from the one at N, and that shift is not the estimate's error). Percentile
rather than basic ([2θ − q_high, 2θ − q_low]): precision and recall near 1 are skewed, and the
basic interval reflected that skew the wrong way (coverage measured in docs/intervals.md).

A metric may also offer a fast path, :meth:`Metric.resampler` (gan_eval.resampling): it precomputes
once and maps unit counts to values, so a replicate does not rebuild states and recompute.

Method (``bca``, the default): Efron's bias-corrected and accelerated percentile interval. The bias
correction matters for FID, whose plug-in estimate is biased upwards by O(d/N) and whose bootstrap
replicates are biased again by as much; the acceleration comes from a grouped jackknife (at most
:data:`JACKKNIFE_GROUPS` groups per resampled set, so it costs ≤ 2·20 extra computes). The normal
quantiles are widened by Hesterberg's (2015) small-sample expansion z → √(n/(n−1))·t_{n−1}, n the
number of units of the smaller resampled set: with K = 20 blocks a plain percentile interval covers
~93 % instead of 95 %; with thousands of rows the expansion is negligible. ``percentile`` and
``basic`` are available for comparison. See docs/intervals.md for the measured coverage and cost.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any, Callable, Literal, Mapping

import numpy as np
import scipy.stats

from .errors import GanEvalError, UsageError
from .metric import Metric
from .state import State

Method = Literal["bca", "percentile", "basic"]

#: Default number of resamples (see docs/intervals.md: endpoint stability against cost).
DEFAULT_RESAMPLES = 200
#: Default number of blocks a run's ``sum`` accumulators keep (see docs/intervals.md).
DEFAULT_BLOCKS = 20
#: Largest number of leave-one-group-out computes per resampled set for BCa's acceleration.
JACKKNIFE_GROUPS = 20
#: Fewest units (rows or non-empty blocks) a set needs for an interval.
MIN_UNITS = 5


@dataclass(frozen=True)
class Interval:
    """A confidence interval as the record stores it."""

    low: float
    high: float
    level: float
    method: str
    resamples: int
    seed: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def why_no_intervals(metric: Metric, generated: State, reference: State | None) -> str | None:
    """Why :func:`metric_intervals` would return nothing for these states (None: it will not)."""
    if getattr(metric, "resampling", "auto") == "none":
        return f"{metric.name} declares resampling meaningless: {getattr(metric, 'resampling_reason', '') or 'no reason given'}"
    units = generated.units()
    if units.kind == "fixed":
        return f"the generated state cannot be resampled: {units.why}"
    if units.nonempty < MIN_UNITS:
        return f"the generated set has {units.nonempty} {units.kind} holding data; an interval needs at least {MIN_UNITS}"
    return None


def metric_intervals(
    metric: Metric,
    generated: State,
    reference: State | None,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    level: float = 0.95,
    seed: int = 0,
    resample_reference: bool = True,
    method: Method = "bca",
    values: Mapping[str, float] | None = None,
) -> dict[str, Interval]:
    """{value key: Interval} for every finite value of ``metric.compute(generated, reference)``.

    ``values`` may pass that computation's result when the caller already has it. Deterministic for
    a seed. Returns {} when :func:`why_no_intervals` gives a reason, or ``resamples`` is 0.
    """
    if not 0 < level < 1:
        raise UsageError(f"confidence level must lie strictly between 0 and 1, got {level}")
    if method not in ("bca", "percentile", "basic"):
        raise UsageError(f"unknown interval method {method!r} (bca, percentile, basic)")
    if resamples <= 0 or why_no_intervals(metric, generated, reference) is not None:
        return {}
    estimate = dict(values) if values is not None else _quiet(metric.compute, generated, reference)
    keys = [k for k, v in estimate.items() if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
    if not keys:
        return {}
    plan = ResamplingPlan(metric, generated, reference, resample_reference)
    rng = np.random.default_rng(seed)
    replicates = bootstrap_replicates(plan, keys, resamples, rng)
    theta = np.array([estimate[k] for k in keys])
    if is_half_sampled(metric):  # see the module doc: half-sample deviations stand for the estimate's error
        method = "percentile"
        with warnings.catch_warnings():  # a key the metric's resampler does not give is all NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            replicates = replicates - np.nanmean(replicates, axis=0) + theta  # their spread, not their N-dependent shift
    if method == "bca":
        acceleration = _jackknife_acceleration(plan, keys, rng)
    smallest = plan.smallest()
    out = {}
    for j, key in enumerate(keys):
        column = replicates[:, j]
        column = column[np.isfinite(column)]
        if len(column) < 0.9 * resamples:  # most resamples failed: no trustworthy interval
            continue
        a = acceleration[j] if method == "bca" else 0.0
        low, high = interval_endpoints(column, theta[j], level, smallest, method, a)
        label = "half-sampling percentile" if is_half_sampled(metric) else method
        out[key] = Interval(float(low), float(high), float(level), label, int(resamples), int(seed))
    return out


def interval_endpoints(replicates: np.ndarray, theta: float, level: float, units: int, method: Method, acceleration: float = 0.0) -> tuple[float, float]:
    """(low, high) from bootstrap replicates of an estimate ``theta`` (``units``: see the module doc)."""
    z_low, z_high = _interval_levels(level, units)
    if method == "bca":
        return _bca(replicates, theta, acceleration, z_low, z_high)
    q_low, q_high = np.quantile(replicates, [scipy.stats.norm.cdf(z_low), scipy.stats.norm.cdf(z_high)])
    if method == "basic":
        return 2 * theta - q_high, 2 * theta - q_low
    return q_low, q_high


# --- resampling -----------------------------------------------------------------------------------
class ResamplingPlan:
    """What a replicate draws and how its values are computed.

    Units drawn: the metric's :class:`~gan_eval.resampling.Resampler`'s when it has one (the fast
    path), else the states' own (:meth:`State.filled_units`). The generated set is always drawn;
    the reference too when ``resample_reference`` and it is not fixed statistics. ``fast=False``
    ignores the resampler (two plans that must draw the same reference units, see gan_eval.compare).
    """

    def __init__(self, metric: Metric, generated: State, reference: State | None, resample_reference: bool = True, fast: bool = True):
        self.metric, self.states = metric, {"generated": generated, "reference": reference}
        roles = ["generated"]
        if reference is not None and resample_reference:
            units = reference.units()
            if units.kind != "fixed" and units.nonempty >= MIN_UNITS:
                roles.append("reference")
        self.resampler = _resampler_of(metric, generated, reference) if fast else None
        if self.resampler is not None and any(self.resampler.units.get(role, 0) < MIN_UNITS for role in roles):
            self.resampler = None
        if self.resampler is None:
            self.filled = {role: _present(self.states[role]).filled_units() for role in roles}
        else:
            self.filled = {role: np.arange(self.resampler.units[role]) for role in roles}
        # a replicate the resampler declines is computed from states: possible where its units are theirs
        self._fallback = self.resampler is None or all(
            s is None or s.units().kind == "fixed" or self.resampler.units.get(role) == s.units().count for role, s in self.states.items()
        )

    def smallest(self) -> int:
        """Units of the smallest drawn set (for the small-sample expansion of the quantiles)."""
        return min(len(filled) for filled in self.filled.values())

    def values(self, drawn: Mapping[str, np.ndarray], keys: list[str]) -> np.ndarray:
        """The metric's ``keys`` for drawn unit indices per role (repeats allowed; NaN where it fails)."""
        if self.resampler is not None:
            counts = {role: np.ones(n, dtype=np.int64) for role, n in self.resampler.units.items()}
            counts.update({role: np.bincount(idx, minlength=self.resampler.units[role]) for role, idx in drawn.items()})
            try:
                found = self.resampler.values(counts)
            except (GanEvalError, ValueError, np.linalg.LinAlgError):
                return np.full(len(keys), np.nan)
            if found is not None:
                return np.array([float(found.get(k, np.nan)) for k in keys])
            if not self._fallback:
                return np.full(len(keys), np.nan)
        states = {role: _drawn_state(self.states[role], idx) for role, idx in drawn.items()}
        gen = states.get("generated", self.states["generated"])
        ref = states.get("reference", self.states["reference"])
        try:
            values = _quiet(self.metric.compute, gen, ref)
        except (GanEvalError, ValueError, np.linalg.LinAlgError):
            return np.full(len(keys), np.nan)
        return np.array([float(values.get(k, np.nan)) for k in keys])

    def extra_sd(self, keys: list[str]) -> np.ndarray:
        """Standard deviation of the error part the units do not carry, per key (0 mostly)."""
        extra = self.resampler.extra_variance if self.resampler is not None else {}
        return np.sqrt(np.array([max(float(extra.get(k, 0.0)), 0.0) for k in keys]))


def _present(state: State | None) -> State:
    assert state is not None  # only roles whose state exists are drawn
    return state


def _drawn_state(state: State | None, indices: np.ndarray) -> State:
    return _present(state).resampled(indices)


def _resampler_of(metric: Metric, generated: State, reference: State | None):
    hook = getattr(metric, "resampler", None)
    if hook is None:
        return None
    try:
        return _quiet(hook, generated, reference)
    except (GanEvalError, ValueError, np.linalg.LinAlgError):
        return None  # the slow path then reports what is wrong, replicate by replicate


def draw_units(filled: np.ndarray, rng: np.random.Generator, half: bool = False) -> np.ndarray:
    """A bootstrap draw: as many units as hold data, with replacement; with ``half``, half of them
    without replacement (half-sampling)."""
    if half:
        return np.sort(rng.choice(filled, len(filled) // 2, replace=False))
    return filled[rng.integers(0, len(filled), len(filled))]


def is_half_sampled(metric: Metric) -> bool:
    return getattr(metric, "resampling", "auto") == "half"


def bootstrap_replicates(plan: ResamplingPlan, keys: list[str], resamples: int, rng: np.random.Generator) -> np.ndarray:
    """resamples × keys array of the metric on resampled units (NaN where a resample failed), each
    with its seeded draw of the resampler's extra variance added."""
    out = np.full((resamples, len(keys)), np.nan)
    half = is_half_sampled(plan.metric)
    extra = plan.extra_sd(keys)
    for b in range(resamples):
        drawn = {role: draw_units(filled, rng, half) for role, filled in plan.filled.items()}
        out[b] = plan.values(drawn, keys)
        if extra.any():
            out[b] += extra * rng.standard_normal(len(keys))
    return out


def _quiet(compute: Callable, *args):
    """Run ``compute`` without repeating its warnings (the estimate's computation reported them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compute(*args)


# --- interval arithmetic ----------------------------------------------------------------------------
def _interval_levels(level: float, units: int) -> tuple[float, float]:
    """Normal quantiles for the two ends, widened by Hesterberg's small-sample expansion."""
    tail = (1 - level) / 2
    z = scipy.stats.t.ppf(1 - tail, units - 1) * math.sqrt(units / (units - 1)) if units > 1 else scipy.stats.norm.ppf(1 - tail)
    return -z, z


def _bca(column: np.ndarray, theta: float, acceleration: float, z_low: float, z_high: float) -> tuple[float, float]:
    below = (np.sum(column < theta) + 0.5 * np.sum(column == theta)) / len(column)
    below = min(max(below, 1 / (2 * len(column))), 1 - 1 / (2 * len(column)))
    z0 = scipy.stats.norm.ppf(below)
    ends = []
    for z in (z_low, z_high):
        shifted = z0 + (z0 + z) / (1 - acceleration * (z0 + z))
        ends.append(scipy.stats.norm.cdf(shifted))
    return tuple(np.quantile(column, ends))


def _jackknife_acceleration(plan: ResamplingPlan, keys: list[str], rng: np.random.Generator) -> np.ndarray:
    """BCa's acceleration per key, a = Σ U³ / (6 (Σ U²)^{3/2}), U the leave-one-group-out influences
    of every resampled set's groups (a two-sample jackknife when the reference is resampled too)."""
    influences = []
    for role, filled in plan.filled.items():
        groups = np.array_split(rng.permutation(filled), min(JACKKNIFE_GROUPS, len(filled)))
        values = np.array([plan.values({role: np.setdiff1d(filled, group, assume_unique=True)}, keys) for group in groups])
        with warnings.catch_warnings():  # a key the metric's resampler does not give is all NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            influences.append((len(groups) - 1) * (np.nanmean(values, axis=0) - values))
    u = np.concatenate(influences)
    num = np.nansum(u**3, axis=0)
    den = 6 * np.nansum(u**2, axis=0) ** 1.5
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)
