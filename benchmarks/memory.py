"""Peak host memory of an FID pass against the number of images: it must not grow with N.

FID keeps float64 sums (count, Σx, Σxxᵀ), so memory is set by the batch and the feature size, not
by N. To get to 1,000,000 images on a small CPU, each N runs in a fresh process through the real
engine and the real ``fid`` metric, with a cheap seeded noise source (8×8 RGB, image i depends only
on (seed, i)) and a tiny extractor (a fixed random projection to 64 features). For contrast it also
runs ``kid``, which keeps every feature row (memory grows with N), at the smaller sizes.

Usage: ``.venv/bin/python benchmarks/memory.py [--sizes 10000,100000,1000000]``
Prints peak RSS (ru_maxrss) per N and the ratio to the smallest N.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import torch

from gan_eval.extractor import FeatureExtractor
from gan_eval.source import Batch, Source, SourceOptions

BLOCK = 4096


class NoiseSource(Source):
    """N seeded 8×8 noise images; image i depends only on (seed, i), drawn in blocks of 4096."""

    kind = "noise"

    def __init__(self, count: int, seed: int = 0):
        super().__init__(f"{count}", SourceOptions())
        self.count, self.seed = count, seed

    def __len__(self) -> int:
        return self.count

    def read(self, start: int, stop: int) -> Batch:
        parts = []
        for block in range(start // BLOCK, (stop - 1) // BLOCK + 1):
            rng = np.random.default_rng([self.seed, block])
            images = rng.integers(0, 256, (BLOCK, 3, 8, 8), dtype=np.uint8)
            lo, hi = max(start, block * BLOCK) - block * BLOCK, min(stop, (block + 1) * BLOCK) - block * BLOCK
            parts.append(images[lo:hi])
        return Batch(np.concatenate(parts))

    def fingerprint(self) -> str:
        return f"noise-{self.count}-{self.seed}"

    def info(self) -> dict:
        return {"kind": self.kind, "spec": self.spec, "count": self.count, "height": 8, "width": 8, "channels": 3}


class ProjectionExtractor(FeatureExtractor):
    """A fixed random projection of the 192 pixel values to 64 features."""

    name = "projection"
    outputs = frozenset({"features"})

    def __init__(self, device="cpu"):
        super().__init__(device)
        self.weight = torch.randn(192, 64, generator=torch.Generator().manual_seed(0)) / 192**0.5

    def __call__(self, images):
        return {"features": (images.flatten(1).float() / 255.0) @ self.weight}


def measure(metric_name: str, count: int, batch_size: int) -> dict:
    from gan_eval.engine import run_pass
    from gan_eval.plugins import load_registry

    metric = load_registry().metric(metric_name)(**({"subsets": 2, "subset_size": 100} if metric_name == "kid" else {}))
    start = time.perf_counter()
    result = run_pass(NoiseSource(count), [metric], ProjectionExtractor(), batch_size=batch_size)
    seconds = time.perf_counter() - start
    assert result.count == count
    return {"metric": metric_name, "n": count, "seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--kid-sizes", default="10000,100000,1000000", help="sizes for the feature-keeping contrast (kid)")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--run", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(measure(args.run[0], int(args.run[1]), args.batch_size)))
        return
    plan = [("fid", int(n)) for n in args.sizes.split(",")] + [("kid", int(n)) for n in args.kid_sizes.split(",") if n]
    rows = []
    for metric, n in plan:
        done = subprocess.run([sys.executable, __file__, "--run", metric, str(n), "--batch-size", str(args.batch_size)], capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(done.stderr[-3000:])
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"{metric:4s} N={n:>9,}  peak RSS {row['peak_rss_mb']:8.1f} MB  {row['seconds']:7.1f} s  ({n / row['seconds']:,.0f} images/s)", flush=True)
    for metric in ("fid", "kid"):
        mine = [r for r in rows if r["metric"] == metric]
        if len(mine) > 1:
            print(f"{metric}: peak RSS at N={mine[-1]['n']:,} / at N={mine[0]['n']:,} = {mine[-1]['peak_rss_mb'] / mine[0]['peak_rss_mb']:.2f}")


if __name__ == "__main__":
    main()
