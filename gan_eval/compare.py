"""Paired comparison of two runs from their saved states: is B really better or worse than A?

Each bootstrap replicate resamples A's generated units, B's generated units and — once, shared by
both — the reference's units, then takes the difference B − A of every value the metric computes.
Sharing the reference resample is what makes the comparison paired: the reference's own noise
moves both scores together and cancels in the difference, so a real difference is found with
fewer images than two separate intervals would need (they often overlap when the difference is
clear). Replicates go through each run's :class:`~gan_eval.bootstrap.ResamplingPlan`, so a metric's
fast resampler (KID's block kernel sums, k-NN neighbour lists) serves comparisons too. The interval
is a bias-corrected percentile interval of the differences (plain percentile for half-sampled
metrics; see gan_eval.bootstrap); the p-value is the two-sided bootstrap one, 2·min(P*(Δ ≤ 0), P*(Δ ≥ 0)).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Mapping

import numpy as np

from .bootstrap import DEFAULT_RESAMPLES, MIN_UNITS, ResamplingPlan, draw_units, interval_endpoints, is_half_sampled
from .errors import GanEvalError, UsageError
from .metric import Metric
from .state import State


def compare_states(
    metric: Metric,
    gen_a: State,
    gen_b: State,
    reference: State | None,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Per value key: {"a", "b", "difference" (B − A), "low", "high", "level", "p_value",
    "significant" (the interval excludes 0), "resamples", "seed"}.

    Both runs must have been scored against the same reference state (:func:`comparability` checks
    the records); a fixed reference (statistics without blocks) is simply not resampled.
    """
    if getattr(metric, "resampling", "auto") == "none":
        raise UsageError(f"{metric.name} cannot be compared by resampling: {metric.resampling_reason or 'it declares so'}")
    if resamples < 1:
        raise UsageError("a comparison needs at least 1 resample")
    for role, state in (("a", gen_a), ("b", gen_b)):
        units = state.units()
        if units.kind == "fixed" or units.nonempty < MIN_UNITS:
            raise GanEvalError(f"{metric.name}: run {role.upper()}'s state cannot be resampled ({units.why or f'{units.nonempty} units hold data'})")
    plans = _paired_plans(metric, gen_a, gen_b, reference)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value_a, value_b = metric.compute(gen_a, reference), metric.compute(gen_b, reference)
    keys = [k for k in value_a if _is_number(value_a[k]) and _is_number(value_b.get(k))]
    rng = np.random.default_rng(seed)
    half = is_half_sampled(metric)
    extra_a, extra_b = plans["a"].extra_sd(keys), plans["b"].extra_sd(keys)
    deltas = np.full((resamples, len(keys)), np.nan)
    for r in range(resamples):
        shared = {"reference": draw_units(plans["a"].filled["reference"], rng, half)} if "reference" in plans["a"].filled else {}
        own = {run: draw_units(plan.filled["generated"], rng, half) for run, plan in plans.items()}
        a = plans["a"].values({"generated": own["a"], **shared}, keys)
        b = plans["b"].values({"generated": own["b"], **shared}, keys)
        deltas[r] = b - a
        if extra_a.any() or extra_b.any():  # each run's own unit-free error (e.g. KID's subset noise)
            deltas[r] += extra_b * rng.standard_normal(len(keys)) - extra_a * rng.standard_normal(len(keys))
    smallest = min(plan.smallest() for plan in plans.values())
    out = {}
    for j, key in enumerate(keys):
        column = deltas[:, j][np.isfinite(deltas[:, j])]
        if len(column) < 0.9 * resamples:
            continue
        difference = value_b[key] - value_a[key]
        if half:  # half-sample deviations, re-centred, stand for the error (see gan_eval.bootstrap)
            column = column - column.mean() + difference
            low, high = interval_endpoints(column, difference, level, smallest, "percentile")
        else:
            low, high = interval_endpoints(column, difference, level, smallest, "bca", 0.0)
        p_value = min(1.0, 2 * min(np.sum(column <= 0) + 1, np.sum(column >= 0) + 1) / (len(column) + 1))
        out[key] = {
            "a": float(value_a[key]),
            "b": float(value_b[key]),
            "difference": float(difference),
            "low": float(low),
            "high": float(high),
            "level": float(level),
            "p_value": float(p_value),
            "significant": bool(low > 0 or high < 0),
            "resamples": int(resamples),
            "seed": int(seed),
        }
    return out


def _paired_plans(metric: Metric, gen_a: State, gen_b: State, reference: State | None) -> dict[str, ResamplingPlan]:
    """One plan per run that draws the same reference units (the metric's fast resampler when both
    runs' resamplers index the reference alike, else the states' own units)."""
    plans = {"a": ResamplingPlan(metric, gen_a, reference), "b": ResamplingPlan(metric, gen_b, reference)}
    ref_a, ref_b = plans["a"].filled.get("reference"), plans["b"].filled.get("reference")
    if (ref_a is None) != (ref_b is None) or (ref_a is not None and ref_b is not None and not np.array_equal(ref_a, ref_b)):
        plans = {"a": ResamplingPlan(metric, gen_a, reference, fast=False), "b": ResamplingPlan(metric, gen_b, reference, fast=False)}
    return plans


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def comparability(record_a: Mapping[str, Any], record_b: Mapping[str, Any]) -> list[str]:
    """Reasons why two run records cannot be compared (empty: comparable): a different feature
    extractor (name, weights, profile), numerics, reference, or number of images."""
    reasons = []
    ext_a, ext_b = _extractors(record_a), _extractors(record_b)
    for name in sorted(set(ext_a) | set(ext_b)):
        a, b = ext_a.get(name), ext_b.get(name)
        if a is None or b is None:
            reasons.append(f"extractor {name} is used by only one run")
            continue
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                reasons.append(f"extractor {name}: {key} differs ({a.get(key)!r} vs {b.get(key)!r})")
    numerics_a, numerics_b = _get(record_a, "config", "numerics"), _get(record_b, "config", "numerics")
    if numerics_a != numerics_b:
        reasons.append(f"numerics differ ({numerics_a!r} vs {numerics_b!r})")
    profile_a, profile_b = _get(record_a, "config", "profile"), _get(record_b, "config", "profile")
    if profile_a != profile_b:
        reasons.append(f"profile differs ({profile_a!r} vs {profile_b!r})")
    ref_a, ref_b = _get(record_a, "inputs", "reference") or {}, _get(record_b, "inputs", "reference") or {}
    if not ref_a or not ref_b:
        if ref_a or ref_b:
            reasons.append("only one run has a reference")
    else:
        fp_a, fp_b = ref_a.get("fingerprint"), ref_b.get("fingerprint")
        if fp_a is None or fp_a != fp_b:
            reasons.append(f"the reference differs (fingerprint {fp_a!r} vs {fp_b!r})")
        if ref_a.get("count") != ref_b.get("count"):
            reasons.append(f"the reference has {ref_a.get('count')} images in A but {ref_b.get('count')} in B")
    n_a, n_b = _get(record_a, "inputs", "generated", "count"), _get(record_b, "inputs", "generated", "count")
    if n_a != n_b:
        reasons.append(f"A has {n_a} generated images but B has {n_b}: FID and IS depend on N (see fid_inf/is_inf)")
    return reasons


def _extractors(record: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    found = record.get("extractors")
    if isinstance(found, dict) and found:
        return {k: dict(v) if isinstance(v, dict) else {"identity": v} for k, v in found.items()}
    single = record.get("extractor")
    if isinstance(single, dict) and single.get("extractor"):
        return {single["extractor"]: dict(single)}
    return {}


def _get(record: Mapping[str, Any], *path: str) -> Any:
    node: Any = record
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node
