"""Scaling of ``torchrun --nproc-per-node P -m gan_eval score`` against one process, same job.

Each configuration gets the same total number of torch threads (``--threads``, default 2 = this
machine's cores): one process with T threads against P processes with T/P threads each, so the
ratio measures what sharding + merging cost or gain, not extra hardware. It scores a folder of
32×32 PNGs against another with FID + IS through the stand-in Inception weights (the network dominates, as in real
use), checks that the values agree, and prints efficiency = t(1 process) / t(P processes).

Usage: ``.venv/bin/python benchmarks/distributed_scaling.py [--n 128] [--procs 2] [--threads 2]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
sys.path.insert(0, str(Path(__file__).parent))
from end_to_end import write_folder  # noqa: E402


def score(prefix: list[str], threads: int, folder: Path, reference: Path, weights: Path, out: Path, batch_size: int) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "GAN_EVAL_CACHE_DIR": str(out.parent / "cache")}
    cmd = [
        *prefix,
        "score",
        str(folder),
        "-m",
        "fid",
        "-m",
        "is",
        "--ref",
        str(reference),
        "--extractor",
        "inception",
        "-O",
        f"inception.weights={weights}",
        "-O",
        "inception.allow_nonstandard=true",
        "--device",
        "cpu",
        "--no-cache",
        "--batch-size",
        str(batch_size),
        "-q",
        "--out",
        str(out),
    ]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(prefix)} failed:\n{done.stderr[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=128)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="total torch threads in each configuration")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--work")
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="gan-eval-scaling-"))
    folder = write_folder(work / f"images-{args.n}", args.n, seed=3)
    reference = write_folder(work / f"reference-{args.n}", args.n, seed=4)
    from gan_eval_plugins.inception import standin_weights_file

    weights = standin_weights_file(work)
    single = score([str(BIN / "gan-eval")], args.threads, folder, reference, weights, work / "single.json", args.batch_size)
    multi = score(
        [str(BIN / "torchrun"), "--standalone", "--nproc-per-node", str(args.procs), "-m", "gan_eval"],
        max(1, args.threads // args.procs),
        folder,
        reference,
        weights,
        work / "multi.json",
        args.batch_size,
    )
    values = [{r["name"]: r["values"] for r in json.loads((work / f).read_text())["results"]} for f in ("single.json", "multi.json")]
    images = 2 * args.n  # generated and reference folders
    print(f"{images} images through Inception (stand-in weights), {args.threads} threads in total, {os.cpu_count()} CPUs")
    print(f"1 process × {args.threads} threads:            {single:7.1f} s  ({images / single:.2f} images/s)")
    print(f"{args.procs} processes × {max(1, args.threads // args.procs)} threads (torchrun, gloo): {multi:7.1f} s  ({images / multi:.2f} images/s)")
    print(f"scaling efficiency t1 / tP = {single / multi:.2f} (1.0: no loss from sharding and merging)")
    for name in values[0]:
        for key, value in values[0][name].items():
            other = values[1][name][key]
            print(f"  {name}.{key}: single {value:.10g}  distributed {other:.10g}  (|Δ|/|x| = {abs(other - value) / max(abs(value), 1e-300):.1e})")


if __name__ == "__main__":
    main()
