"""CPU streams against one call at a time, per extractor, same images, same process.

For each extractor (stand-in weights; exact Inception, fast Inception, DINOv2 ViT-S/14, CLIP
ViT-B/32) the engine's pass (``gan_eval.api.features``) runs N 32×32 images three ways, in
interleaved rounds after an untimed warm-up:

* ``whole``: one call per batch with every torch thread in each operator (``cpu_chunk`` off, one
  stream): what the ViTs did before streams, and what the peers do;
* ``chunks``: calls of ``cpu_chunk`` images one after another (``--cpu-streams 1``);
* ``streams``: the same chunks side by side, one single-threaded call per thread (the default).

Prints images/s (median of the rounds), each mode's ratio to ``chunks`` and ``whole``, and the
largest feature difference between modes (streams compute every chunk single-threaded).
Usage: ``OMP_NUM_THREADS=2 .venv/bin/python benchmarks/cpu_streams.py [--n 64] [--rounds 3] [--extractors ...]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

EXTRACTORS = ("inception", "inception-fast", "dinov2-vits14", "clip-vitb32")
MODES = ("whole", "chunks", "streams")


def options(name: str, work: Path) -> tuple[str, dict, bool]:
    """(registry name, options, fast) with stand-in weights written under ``work``."""
    if name.startswith("inception"):
        from gan_eval_plugins.inception import standin_weights_file

        return "inception", {"inception.weights": str(standin_weights_file(work)), "inception.allow_nonstandard": True}, name.endswith("fast")
    if name.startswith("dinov2"):
        from gan_eval_plugins.dinov2 import write_standin_weights

        return name, {f"{name}.weights": str(write_standin_weights(work / "dinov2_vits14_pretrain.pth", "vits14"))}, False
    from gan_eval_plugins.clip import write_standin_weights as write_clip

    return name, {f"{name}.weights": str(write_clip(work / "ViT-B-32.pt", "vitb32")), f"{name}.allow_nonstandard": True}, False


def run(registry, name: str, opts: dict, fast: bool, images: torch.Tensor, mode: str) -> tuple[float, np.ndarray]:
    from gan_eval.api import features

    cls = registry.extractor(name)
    chunk = cls.cpu_chunk
    if mode == "whole":
        cls.cpu_chunk = None  # type: ignore[misc]  # the benchmark's baseline only
    try:
        start = time.perf_counter()
        out = features(
            images, extractor=name, options=opts, fast=fast, device="cpu", batch_size=64, registry=registry, cpu_streams=1 if mode != "streams" else "auto"
        )
        return time.perf_counter() - start, out["outputs"]["features"]
    finally:
        cls.cpu_chunk = chunk  # type: ignore[misc]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--extractors", default=",".join(EXTRACTORS))
    args = parser.parse_args()
    from gan_eval.plugins import load_registry

    registry = load_registry()
    work = Path(tempfile.mkdtemp(prefix="gan-eval-streams-"))
    images = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (args.n, 3, 32, 32), dtype=np.uint8))
    print(f"{args.n} images 32×32, torch threads {torch.get_num_threads()}, batch 64", flush=True)
    for key in args.extractors.split(","):
        name, opts, fast = options(key, work)
        run(registry, name, opts, fast, images[:4], "streams")  # warm-up: weights read, kernels built
        seconds: dict[str, list[float]] = {m: [] for m in MODES}
        feats: dict[str, np.ndarray] = {}
        for _ in range(args.rounds):
            for mode in MODES:
                t, f = run(registry, name, opts, fast, images, mode)
                seconds[mode].append(t)
                feats[mode] = f
        med = {m: statistics.median(v) for m, v in seconds.items()}
        rates = "  ".join(f"{m} {args.n / med[m]:6.2f}/s" for m in MODES)
        diff = {m: float(np.abs(feats[m] - feats["streams"]).max()) for m in ("whole", "chunks")}
        print(
            f"{key:15s} {rates}  streams/chunks {med['chunks'] / med['streams']:.2f}x  streams/whole {med['whole'] / med['streams']:.2f}x  "
            f"max |Δ| vs streams: chunks {diff['chunks']:.1e}, whole {diff['whole']:.1e}",
            flush=True,
        )


if __name__ == "__main__":
    main()
