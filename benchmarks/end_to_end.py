"""End-to-end folder scoring (FID + IS + KID) against torch-fidelity and pytorch-fid, same images, same weights.

Writes two folders of N 32×32 PNGs, builds the deterministic stand-in Inception weights (the standard
file cannot be downloaded here; every tool loads the same file), then times, each in a fresh process
and in interleaved rounds so that a shared machine's noise hits all alike:

* gan-eval exact (default numerics) and gan-eval --fast: FID + IS + KID (subsets of N), no cache, no
  bootstrap intervals (``bootstrap=0``: the peers compute none; at N = 32 the default 200 resamples
  took 70 of 119 s, recomputing KID and IS 241 times each);
* torch-fidelity ``calculate_metrics(fid=True, isc=True, kid=True)``, no cache, as it runs by default
  (DataLoader with min(4, 2·CPUs) workers);
* optionally (``--tools``) torch-fidelity with ``save_cpu_ram=True`` (no workers:
  ``torch-fidelity-0w``) and pytorch-fid ``calculate_fid_given_paths`` (FID only).

It prints images per second, the ratios fast/exact and exact/torch-fidelity measured in this run,
and the FID, IS and KID deviation of fast mode from exact mode.
Usage: ``OMP_NUM_THREADS=2 .venv/bin/python benchmarks/end_to_end.py [--n 128] [--device cpu] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TOOLS = ("gan-eval", "gan-eval-fast", "torch-fidelity", "torch-fidelity-0w", "pytorch-fid")
DEFAULT_TOOLS = ("gan-eval", "gan-eval-fast", "torch-fidelity")


def write_folder(path: Path, n: int, seed: int) -> Path:
    """N smooth-plus-noise 32×32 RGB PNGs (image-like statistics, not constant, not pure noise)."""
    from PIL import Image

    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        coarse = rng.uniform(0, 255, (4, 4, 3))
        smooth = np.kron(coarse, np.ones((8, 8, 1)))
        image = np.clip(smooth + rng.normal(0, 20, (32, 32, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(image).save(path / f"{i:05d}.png")
    return path


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (DataLoader workers)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def run_tool(tool: str, generated: str, reference: str, weights: str, device: str, batch_size: int) -> dict:
    """Score once with ``tool`` in this process; returns wall seconds, CPU seconds and values."""
    cpu_start = cpu_seconds()
    result = _run_tool(tool, generated, reference, weights, device, batch_size)
    return {**result, "cpu_seconds": cpu_seconds() - cpu_start}


def _run_tool(tool: str, generated: str, reference: str, weights: str, device: str, batch_size: int) -> dict:
    import torch

    if tool.startswith("gan-eval"):
        from gan_eval.plugins import load_registry
        from gan_eval.scoring import ScoreConfig, score

        n = len(os.listdir(generated))
        config = ScoreConfig(
            generated=generated,
            reference=reference,
            metrics=["fid", "is", "kid"],
            extractor="inception",
            extractor_params={"weights": weights, "allow_nonstandard": True},
            batch_size=batch_size,
            # torch-fidelity shuffles IS rows with seed 2020; gan-eval seeds it with the run's --seed (0) unless told
            metric_params={"kid": {"subset_size": n}, "is": {"seed": 2020}},
            bootstrap=0,  # the peers compute no intervals
            device=device,
            use_cache=False,
            numerics="fast" if tool.endswith("fast") else "exact",
        )
        registry = load_registry()
        start = time.perf_counter()
        outcome = score(registry, config)
        seconds = time.perf_counter() - start
        values = {r["name"].split("@")[0]: r["values"] for r in outcome.results}
        return {"seconds": seconds, "fid": values["fid"]["fid"], "is": values["is"]["mean"], "kid": values["kid"]["mean"]}
    if tool.startswith("torch-fidelity"):
        import torch_fidelity

        start = time.perf_counter()
        out = torch_fidelity.calculate_metrics(
            input1=generated,
            input2=reference,
            fid=True,
            isc=True,
            kid=True,
            kid_subset_size=len(os.listdir(generated)),
            feature_extractor="inception-v3-compat",
            feature_extractor_weights_path=weights,
            cuda=device.startswith("cuda"),
            batch_size=batch_size,
            cache=False,
            verbose=False,
            save_cpu_ram=tool.endswith("-0w"),  # -0w: no DataLoader workers
        )
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "fid": out["frechet_inception_distance"], "is": out["inception_score_mean"], "kid": out["kernel_inception_distance_mean"]}
    if tool == "pytorch-fid":
        import pytorch_fid.inception as pfi
        from pytorch_fid.fid_score import calculate_fid_given_paths

        pfi.load_state_dict_from_url = lambda *a, **k: torch.load(weights, map_location="cpu", weights_only=True)
        start = time.perf_counter()
        fid = calculate_fid_given_paths([generated, reference], batch_size, device, 2048, num_workers=0)
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "fid": float(fid), "is": None, "kid": None}
    raise ValueError(tool)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200, help="images per folder (two folders are scored)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=1, help="interleaved repetitions; the median is reported")
    parser.add_argument("--tools", default=",".join(DEFAULT_TOOLS), help="comma-separated subset of " + ", ".join(TOOLS))
    parser.add_argument("--work", help="folder for images and weights (default: a temporary one)")
    parser.add_argument("--run", help=argparse.SUPPRESS)  # internal: score once with this tool, print JSON
    parser.add_argument("--paths", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run_tool(args.run, *args.paths, args.device, args.batch_size)))
        return

    work = Path(args.work or tempfile.mkdtemp(prefix="gan-eval-bench-"))
    generated = write_folder(work / f"generated-{args.n}", args.n, seed=1)
    reference = write_folder(work / f"reference-{args.n}", args.n, seed=2)
    from gan_eval_plugins.inception import standin_weights_file

    weights = standin_weights_file(work)
    tools = args.tools.split(",")
    runs: dict[str, list[dict]] = {t: [] for t in tools}
    env = {**os.environ, "GAN_EVAL_CACHE_DIR": str(work / "cache")}
    for round_ in range(args.rounds):
        for tool in tools:
            cmd = [
                sys.executable,
                __file__,
                "--run",
                tool,
                "--paths",
                str(generated),
                str(reference),
                str(weights),
                "--device",
                args.device,
                "--batch-size",
                str(args.batch_size),
            ]
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            if done.returncode != 0:
                sys.exit(f"{tool} failed:\n{done.stderr[-3000:]}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            runs[tool].append(result)
            print(
                f"round {round_ + 1} {tool:17s} {result['seconds']:8.1f} s wall {result['cpu_seconds']:8.1f} s CPU  "
                f"FID {result['fid']:.6g}  IS {result['is']}  KID {result['kid']}",
                flush=True,
            )

    images = 2 * args.n
    print(
        f"\n{images} images (2 folders × {args.n}, 32×32 PNG), device {args.device}, batch {args.batch_size}, "
        f"torch threads {os.environ.get('OMP_NUM_THREADS', 'default')}, {os.cpu_count()} CPUs"
    )
    for clock in ("seconds", "cpu_seconds"):
        seconds = {t: statistics.median(r[clock] for r in runs[t]) for t in tools}
        label = "wall clock" if clock == "seconds" else "CPU time (less sensitive to other users of a shared machine)"
        print(f"-- by {label}, median of {args.rounds} round(s):")
        for tool in tools:
            print(f"{tool:17s} {images / seconds[tool]:8.2f} images/s")
        if "gan-eval" in seconds and "gan-eval-fast" in seconds:
            print(f"throughput gan-eval-fast / gan-eval (fast / exact): {seconds['gan-eval'] / seconds['gan-eval-fast']:.2f}x")
        for ours in ("gan-eval", "gan-eval-fast"):
            for peer in ("torch-fidelity", "torch-fidelity-0w", "pytorch-fid"):
                if ours in seconds and peer in seconds:
                    print(f"throughput {ours} / {peer}: {seconds[peer] / seconds[ours]:.2f}x")
    if "gan-eval" in runs and "gan-eval-fast" in runs:
        exact, fast = runs["gan-eval"][0], runs["gan-eval-fast"][0]
        for name in ("fid", "is", "kid"):
            gap = abs(fast[name] - exact[name])
            near_zero = (
                "; over 10 %: read the absolute gap, since a value near 0 (KID between folders of one distribution) makes the relative one meaningless"
                if gap > 0.1 * abs(exact[name])
                else ""
            )
            print(
                f"fast-mode deviation {name.upper()}: {fast[name]:.8g} vs exact {exact[name]:.8g} ({gap:.2e} absolute, {gap / abs(exact[name]):.2e} relative{near_zero})"
            )
    if "gan-eval" in runs and "torch-fidelity" in runs:
        for name in ("fid", "is", "kid"):
            a, b = runs["gan-eval"][0][name], runs["torch-fidelity"][0][name]
            print(
                f"{name.upper()} gan-eval vs torch-fidelity (same tf1 preprocessing, IS shuffle seed 2020): {a:.8g} vs {b:.8g} ({abs(a - b) / abs(b):.1e} relative)"
            )


if __name__ == "__main__":
    main()
