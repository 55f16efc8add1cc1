"""FID against the number of generated images, from one pass (``-O fid.curve=true``).

The generated state's K blocks hold interleaved batches (batch i in block i mod K), so the first j
non-empty blocks are a sample of about N·j/K images. On a log grid of j from 2 to all blocks, the
curve records FID of those blocks against the whole reference, with a bootstrap interval over the
j blocks (and the reference's units) where j ≥ gan_eval.bootstrap.MIN_UNITS. A curve still falling
at the right end says N is not enough for FID_N to have settled.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gan_eval.bootstrap import MIN_UNITS, metric_intervals
from gan_eval.state import State

#: Points on the curve (at most; fewer when the state has few blocks).
CURVE_POINTS = 8


def block_grid(filled: int, points: int = CURVE_POINTS) -> list[int]:
    """Distinct block counts on a log grid from 2 to ``filled``."""
    if filled < 2:
        return []
    return sorted({int(round(j)) for j in np.geomspace(2, filled, points)})


def fid_curve(metric, generated: State, reference: State, *, resamples: int, seed: int, level: float = 0.95) -> dict[str, Any]:
    """{"n": [...], "fid": [...], "low": [...], "high": [...], "blocks": [...], "level": ...}:
    ``low``/``high`` are None where too few blocks make an interval meaningless; empty lists when
    the generated state has no blocks."""
    curve: dict[str, Any] = {"n": [], "fid": [], "low": [], "high": [], "blocks": [], "level": level, "resamples": resamples, "seed": seed}
    if generated.units().kind != "blocks":
        curve["why_empty"] = "the generated state has no blocks (run with blocks, e.g. the default --ci)"
        return curve
    filled = generated.filled_units()
    for j in block_grid(len(filled)):
        subset = generated.resampled(filled[:j], keep_blocks=True)
        value = metric.compute(subset, reference)["fid"]
        interval = None
        if j >= MIN_UNITS and resamples > 0:
            interval = metric_intervals(metric, subset, reference, resamples=resamples, level=level, seed=seed, values={"fid": value}).get("fid")
        curve["n"].append(int(round(float(subset.numpy("count")))))
        curve["fid"].append(value)
        curve["low"].append(None if interval is None else interval.low)
        curve["high"].append(None if interval is None else interval.high)
        curve["blocks"].append(j)
    return curve
