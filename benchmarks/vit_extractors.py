"""DINOv2 / CLIP extractor cost relative to Inception (same process, same images), the effect of
splitting CPU batches (cpu_chunk), and the deviation of bfloat16 from float32 (features and FD).

Stand-in weights (the real files cannot be downloaded here): the cost of a network does not depend
on its weights' values, and the bfloat16 deviation is measured on healthy random weights. Run:
``.venv/bin/python benchmarks/vit_extractors.py [--images 32] [--repeats 3]``. Reports ratios only.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from gan_eval_plugins.clip import write_standin_weights as clip_standin
from gan_eval_plugins.clip.extractor import ClipViTB32
from gan_eval_plugins.dinov2 import write_standin_weights as dinov2_standin
from gan_eval_plugins.dinov2.extractor import DinoV2ViTB14, DinoV2ViTS14
from gan_eval_plugins.fid import frechet_distance
from gan_eval_plugins.inception import InceptionExtractor, standin_weights_file


def images(n: int, seed: int, shift: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 200, 32)[None, None, :, None]
    x = (ramp + rng.integers(-50, 50, (n, 32, 32, 3)) + shift).clip(0, 255).astype(np.uint8)
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()


def rate(extractor, batch: torch.Tensor, chunk: int, repeats: int) -> float:
    """Images per second, best of ``repeats``, calling the extractor ``chunk`` images at a time."""
    extractor(batch[:2])  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(0, len(batch), chunk):
            extractor(batch[i : i + chunk])
        best = min(best, time.perf_counter() - start)
        time.sleep(0.5)
    return len(batch) / best


def fd(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double().numpy(), b.double().numpy()
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="extractor names to measure (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    tmp = Path(tempfile.mkdtemp(prefix="vit-bench-"))
    batch = images(args.images, 0)
    inception = InceptionExtractor("cpu", weights=str(standin_weights_file(tmp)), allow_nonstandard=True)
    nets = {
        "dinov2-vits14": lambda **kw: DinoV2ViTS14("cpu", weights=str(dinov2_standin(tmp / "s.pth", "vits14")), **kw),
        "dinov2-vitb14": lambda **kw: DinoV2ViTB14("cpu", weights=str(dinov2_standin(tmp / "b.pth", "vitb14")), **kw),
        "clip-vitb32": lambda **kw: ClipViTB32("cpu", weights=str(clip_standin(tmp / "c.pt", "vitb32")), allow_nonstandard=True, **kw),
    }
    base = rate(inception, batch, 8, args.repeats)
    print(f"inception (cpu_chunk 8): 1.00 (reference, {torch.get_num_threads()} threads, {args.images} 32x32 images)")
    real, fake = images(args.images, 1), images(args.images, 2, shift=40)
    for name, make in nets.items():
        if args.only and name not in args.only:
            continue
        exact = make()
        r8, r32 = rate(exact, batch, 8, args.repeats), rate(exact, batch, 32, args.repeats)
        print(f"{name}: speed vs inception {r8 / base:.2f} (calls of 8), {r32 / base:.2f} (calls of 32)")
        low = make(dtype="bfloat16")
        rb = rate(low, batch, 8, args.repeats)
        f32 = {k: exact(v)["features"] for k, v in (("real", real), ("fake", fake))}
        b16 = {k: low(v)["features"] for k, v in (("real", real), ("fake", fake))}
        rel = max(((f32[k] - b16[k]).norm(dim=1) / f32[k].norm(dim=1)).max().item() for k in f32)
        fd32, fd16 = fd(f32["real"], f32["fake"]), fd(b16["real"], b16["fake"])
        print(
            f"  bfloat16: speed {rb / r8:.2f}x float32; max relative feature error {rel:.2e}; "
            f"FD {fd32:.6g} (float32) vs {fd16:.6g} (bfloat16): relative {abs(fd16 - fd32) / fd32:.2e}"
        )


if __name__ == "__main__":
    main()
