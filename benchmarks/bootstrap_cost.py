"""Cost of bootstrap intervals against the feature extraction they avoid repeating, in one run.

Extraction: the CPU Inception network (deterministic stand-in weights: same architecture and cost as
the standard ones) on ``--extract-n`` 299-resized images, timed and scaled linearly to N = 10,000
(10k images take ~15 min here; the network's cost per image does not depend on N).
Intervals: at the real N = 10,000 with random features (d = 2048 for FID, KID, P/R; 1008 logits for
IS), ``--measure`` resamples are timed per metric and scaled to ``--resamples`` (the resamples are
independent and equal in cost; BCa's jackknife — 2 × 20 computes — is timed and added once).
Prints one line per metric: seconds for the intervals, and that time as a fraction of extraction.

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
    s = State(metric.state_spec(), blocks=blocks)
    for i, chunk in enumerate(rows.split(BATCH)):
        s.begin_batch(i)
        metric.update(s, {"features": chunk, "logits": chunk})
    return s


def interval_seconds(metric, gen: State, ref: State | None, resamples: int, measure: int) -> float:
    sets = bootstrap._resampled_sets(gen, ref, True)
    keys = [metric.primary]
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    bootstrap.bootstrap_replicates(metric, sets, keys, measure, rng)
    per_resample = (time.perf_counter() - start) / measure
    jackknife = 0.0
    if not bootstrap.is_half_sampled(metric):
        start = time.perf_counter()
        bootstrap._jackknife_acceleration(metric, sets, keys, rng)
        jackknife = time.perf_counter() - start
    return per_resample * resamples + jackknife


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resamples", type=int, default=bootstrap.DEFAULT_RESAMPLES)
    parser.add_argument("--measure", type=int, default=5, help="resamples actually timed per metric")
    parser.add_argument("--extract-n", type=int, default=64)
    parser.add_argument("--metrics", default="fid,is,kid,pr")
    args = parser.parse_args()
    from gan_eval_plugins.fid import FrechetDistance
    from gan_eval_plugins.inception_score import InceptionScore
    from gan_eval_plugins.kid import KernelDistance
    from gan_eval_plugins.precision_recall import PrecisionRecall

    per_image = extraction_seconds_per_image(args.extract_n)
    extraction = per_image * N
    print(f"extraction: {per_image * 1000:.1f} ms/image on {args.extract_n} images -> {extraction:.0f} s for {N} (scaled linearly)")
    g = torch.Generator().manual_seed(0)
    features = torch.randn(N, D, generator=g), torch.randn(N, D, generator=g) + 0.1
    logits = torch.randn(N, LOGITS, generator=g) * 3
    chosen = {
        "fid": (FrechetDistance(), True, BLOCKS),
        "is": (InceptionScore(), False, 0),
        "kid": (KernelDistance(), True, 0),
        "pr": (PrecisionRecall(), True, 0),
    }
    for name in args.metrics.split(","):
        metric, with_reference, blocks = chosen[name]
        rows = logits if name == "is" else features[0]
        gen = state(metric, rows, blocks)
        ref = state(metric, features[1], blocks) if with_reference else None
        seconds = interval_seconds(metric, gen, ref, args.resamples, args.measure)
        print(
            f"{name:>4}: {args.resamples} resamples ≈ {seconds:.0f} s = {seconds / extraction:.1%} of extraction "
            f"({args.measure} timed, N={N}, {'blocks' if blocks else 'rows'}{', half-sampling' if bootstrap.is_half_sampled(metric) else ''})",
            flush=True,
        )


if __name__ == "__main__":
    main()
