"""Cost of bootstrap intervals against the feature extraction they avoid repeating, in one run.

Extraction: the CPU Inception network (deterministic stand-in weights: same architecture and cost as
the standard ones) on ``--extract-n`` 299-resized images, timed and scaled linearly to N = 10,000
(10k images take ~15 min here; the network's cost per image does not depend on N).
Intervals: at the real N = 10,000 with random features (d = 2048 for FID, KID, prdc, P/R; 1008 logits
for IS), the metric's resampler (its precomputation, when it has one) is built and timed once,
``--measure`` resamples are timed and scaled to ``--resamples`` (the resamples are independent and
equal in cost), and BCa's jackknife (≤ 2 × 20 computes; none for half-sampled metrics) is timed and
added once. Prints one row per metric: the value's own compute time, those parts, their sum, and
that sum as a fraction of extraction.

    .venv/bin/python benchmarks/bootstrap_cost.py [--resamples 200] [--measure 5] [--extract-n 64]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch

from gan_eval import bootstrap
from gan_eval.state import State

N, D, LOGITS, BLOCKS, BATCH = 10_000, 2048, 1008, bootstrap.DEFAULT_BLOCKS, 100


def extraction_seconds_per_image(n: int) -> float:
    from gan_eval.engine import extract
    from gan_eval_plugins.inception import standin_weights_file
    from gan_eval_plugins.inception.extractor import InceptionExtractor

    with tempfile.TemporaryDirectory() as work:
        extractor = InceptionExtractor("cpu", weights=str(standin_weights_file(work)), allow_nonstandard=True)
        images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8)
        extract(extractor, images[:8])  # warm-up
        start = time.perf_counter()
        with torch.inference_mode():
            for chunk in images.split(32):
                extract(extractor, chunk)
        return (time.perf_counter() - start) / n


def state(metric, rows: torch.Tensor, blocks: int) -> State:
    """The state the engine accumulates: batches of BATCH, image i in block i mod K."""
    from gan_eval.engine import by_block

    s = State(metric.state_spec(), blocks=blocks)
    for i, chunk in enumerate(rows.split(BATCH)):
        for block, part in by_block({"images": chunk, "features": chunk, "logits": chunk}, i * BATCH, blocks):
            s.begin_batch(block)
            metric.update(s, part)
    return s


def interval_seconds(metric, gen: State, ref: State | None, resamples: int, measure: int) -> tuple[float, float, float, str]:
    """(set-up, per resample, jackknife) seconds of the metric's intervals, and the units drawn."""
    start = time.perf_counter()
    plan = bootstrap.ResamplingPlan(metric, gen, ref, True)  # builds the metric's resampler, if it has one
    setup = time.perf_counter() - start
    keys = [metric.primary]
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    bootstrap.bootstrap_replicates(plan, keys, measure, rng)
    per_resample = (time.perf_counter() - start) / measure
    jackknife = 0.0
    if not bootstrap.is_half_sampled(metric):
        start = time.perf_counter()
        bootstrap._jackknife_acceleration(plan, keys, rng)
        jackknife = time.perf_counter() - start
    kind = "fast path" if plan.resampler is not None else "states"
    units = "+".join(str(len(f)) for f in plan.filled.values())
    return setup, per_resample, jackknife, f"{kind}, {units} units{', half-sampling' if bootstrap.is_half_sampled(metric) else ''}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resamples", type=int, default=bootstrap.DEFAULT_RESAMPLES)
    parser.add_argument("--measure", type=int, default=5, help="resamples actually timed per metric")
    parser.add_argument("--extract-n", type=int, default=64)
    parser.add_argument("--metrics", default="fid,is,kid,prdc,pr")
    parser.add_argument("--n", type=int, default=N, help="images per set (10,000: the target; smaller for a smoke run)")
    args = parser.parse_args()
    from gan_eval_plugins.fid import FrechetDistance
    from gan_eval_plugins.inception_score import InceptionScore
    from gan_eval_plugins.kid import KernelDistance
    from gan_eval_plugins.prdc import PRDC
    from gan_eval_plugins.precision_recall import PrecisionRecall

    per_image = extraction_seconds_per_image(args.extract_n)
    n = args.n
    extraction = per_image * n
    print(f"extraction: {per_image * 1000:.1f} ms/image on {args.extract_n} images -> {extraction:.0f} s for {n} (scaled linearly)")
    g = torch.Generator().manual_seed(0)
    features = torch.randn(n, D, generator=g), torch.randn(n, D, generator=g) + 0.1
    logits = torch.randn(n, LOGITS, generator=g) * 3
    chosen = {
        "fid": (FrechetDistance(), True, BLOCKS),
        "is": (InceptionScore(), False, 0),
        "kid": (KernelDistance(), True, 0),
        "prdc": (PRDC(), True, 0),
        "pr": (PrecisionRecall(), True, 0),
    }
    print(f"{'metric':>6} | {'value s':>8} | {'set-up s':>8} | {'per resample s':>14} | {'jackknife s':>11} | {'CI s':>7} | CI / extraction | units")
    for name in args.metrics.split(","):
        metric, with_reference, blocks = chosen[name]
        rows = logits if name == "is" else features[0]
        gen = state(metric, rows, blocks)
        ref = state(metric, features[1], blocks) if with_reference else None
        start = time.perf_counter()
        bootstrap._quiet(metric.compute, gen, ref)
        value = time.perf_counter() - start
        setup, per_resample, jackknife, units = interval_seconds(metric, gen, ref, args.resamples, args.measure)
        seconds = setup + per_resample * args.resamples + jackknife
        print(
            f"{name:>6} | {value:8.1f} | {setup:8.1f} | {per_resample:14.3f} | {jackknife:11.1f} | {seconds:7.1f} | {seconds / extraction:15.1%} | {units}",
            flush=True,
        )


if __name__ == "__main__":
    main()
