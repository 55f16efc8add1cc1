"""Benchmark: FID from two d×d statistics, ours vs pytorch-fid's ``calculate_frechet_distance``.

Not a test. Prints, for d = 2048 by default, the median wall time of each method over a few
interleaved repeats (this machine is shared and noisy: compare within one run), the ratio, and the
relative difference of the values, for pytorch-fid (scipy ``sqrtm``) and two variants of ours: from
scratch, and with the reference's covariance factor cached (one reference, many generators). Each
timed call starts after a 0.5 s pause (see ``timed``).

    .venv/bin/python benchmarks/fid_from_stats.py [--dim 2048] [--repeats 3] [--samples 4096]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gan_eval_plugins.fid import covariance_factor, frechet_distance  # noqa: E402


def feature_statistics(n: int, d: int, seed: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of n correlated, non-negative-ish d-dim features (like Inception pool3)."""
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((d, d)) / np.sqrt(d)
    features = np.abs(rng.standard_normal((n, d)) @ mixing) * scale
    return features.mean(axis=0), np.cov(features, rowvar=False)


def timed(fn) -> tuple[float, float]:
    # Let the previous call's BLAS threads go idle first: numpy and scipy bring two OpenBLAS builds,
    # whose threads spin for ~0.1 s after a call and, on 2 cores, slowed the next call by 30-70 ms.
    time.sleep(0.5)
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, float(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--samples", type=int, default=4096, help="feature rows per set (N > d gives full-rank covariances)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from pytorch_fid.fid_score import calculate_frechet_distance

    mu1, sigma1 = feature_statistics(args.samples, args.dim, 1, 1.0)
    mu2, sigma2 = feature_statistics(args.samples, args.dim, 2, 1.1)
    times: dict[str, list[float]] = {"pytorch-fid": [], "ours": [], "ours, cached factor": []}
    values: dict[str, float] = {}
    peer_error = None
    for _ in range(args.repeats):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                elapsed, values["pytorch-fid"] = timed(lambda: calculate_frechet_distance(mu1, sigma1, mu2, sigma2))
            times["pytorch-fid"].append(elapsed)
        except Exception as exc:  # report what happens on this SciPy rather than stop
            peer_error = f"{type(exc).__name__}: {exc}"
        elapsed, values["ours"] = timed(lambda: frechet_distance(mu1, sigma1, mu2, sigma2))
        times["ours"].append(elapsed)
        factor = covariance_factor(sigma2)  # done once per reference, outside the timing
        elapsed, values["ours, cached factor"] = timed(lambda factor=factor: frechet_distance(mu2, factor, mu1, sigma1))
        times["ours, cached factor"].append(elapsed)

    import scipy

    print(f"FID from statistics, d = {args.dim}, N = {args.samples}, median of {args.repeats} (numpy {np.__version__}, scipy {scipy.__version__})")
    base = statistics.median(times["pytorch-fid"]) if times["pytorch-fid"] else None
    for name, spent in times.items():
        if not spent:
            print(f"  {name:<22} failed: {peer_error}")
            continue
        median = statistics.median(spent)
        ratio = f"  {base / median:6.1f}× pytorch-fid's speed" if base else ""
        print(f"  {name:<22} {median:8.3f} s   FID {values[name]:.10g}{ratio}")
    if "pytorch-fid" in values:
        print(f"  relative difference ours vs pytorch-fid: {abs(values['ours'] - values['pytorch-fid']) / abs(values['pytorch-fid']):.2e}")
    if peer_error:
        print(f"  pytorch-fid error: {peer_error}")


if __name__ == "__main__":
    main()
