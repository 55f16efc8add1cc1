"""FD on DINOv2 ViT-S/14: gan-eval against dgm-eval's reference pipeline, same images, same weights, one run.

dgm-eval (layer6ai-labs/dgm-eval) computes FD_DINOv2 as: a DataLoader over the sorted image files
(batch 50, min(8, CPUs) worker processes), each image opened with PIL, converted to RGB, then
torchvision ``Resize((224, 224), BICUBIC)`` (PIL's antialiased bicubic), ``ToTensor`` and
``Normalize(ImageNet mean, std)``, the official torch-hub DINOv2 in float32 under ``no_grad`` (its
CLS token after the final norm), features stored as float64, and FD through ``scipy.linalg.sqrtm``.
The official model cannot be fetched from torch hub here, so the reference runs the same network as
transformers' ``Dinov2Model`` with the stand-in weights converted to its names (the model our
features are tested against, tests/extractors/test_dinov2_equivalence.py), with eager attention:
the official code's attention on a CPU without xFormers (``softmax(q·kᵀ)·v`` as separate ops).
``--reference-attention sdpa`` times transformers' default fused attention instead.

gan-eval: ``gan_eval.features`` on each folder (the engine's pass: decoding, the extractor's batched
preprocessing and the timm network), then the FID metric's ``frechet_distance`` (no ``sqrtm``).

After an untimed warm-up on 4 images, each pipeline runs ``--rounds`` times, interleaved, in this
process (so both see the same machine);
medians are reported as images/s and as the ratio gan-eval / reference, with wall and CPU time
(workers' included), the largest feature deviation and both FDs.
Usage: ``OMP_NUM_THREADS=2 .venv/bin/python benchmarks/dinov2_pipeline.py [--n 64] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from end_to_end import write_folder  # noqa: E402  (same images as the Inception benchmark)

EXTRACTOR = "dinov2-vits14"
IMAGE_EXTENSIONS = {"bmp", "jpg", "jpeg", "pgm", "png", "ppm", "tif", "tiff", "webp"}  # dgm-eval's list


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the reference's DataLoader workers)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def reference_network(weights: Path, attention: str) -> torch.nn.Module:
    """transformers' Dinov2Model with ``weights`` converted, built by the equivalence test's helper."""
    path = HERE.parent / "tests" / "extractors" / "test_dinov2_equivalence.py"
    spec = importlib.util.spec_from_file_location("dinov2_equivalence", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    state = torch.load(weights, weights_only=True)
    model = module.transformers_dinov2(state, "vits14", 12)
    model.config._attn_implementation = attention
    return model


class ImageFiles(torch.utils.data.Dataset):
    """dgm-eval's ImagePathDataset: sorted files, PIL open, RGB, the encoder's per-image transform."""

    def __init__(self, folder: Path, transform):
        self.files = sorted(f for ext in IMAGE_EXTENSIONS for f in folder.glob(f"*.{ext}"))
        self.transform = transform

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> torch.Tensor:
        from PIL import Image

        return self.transform(Image.open(self.files[i]).convert("RGB"))


def dgm_eval_transform():
    """dgm-eval's DINOv2Encoder.transform without clean_resize (its default)."""
    import torchvision.transforms as T

    return T.Compose(
        [
            T.Resize((224, 224), T.InterpolationMode.BICUBIC),
            T.ToTensor(),
            T.Normalize(np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])),
        ]
    )


def reference_features(model: torch.nn.Module, folder: Path, batch_size: int, workers: int) -> np.ndarray:
    """dgm-eval's get_representations: batches from the DataLoader, ``no_grad``, float64 rows."""
    loader = torch.utils.data.DataLoader(ImageFiles(folder, dgm_eval_transform()), batch_size=batch_size, shuffle=False, num_workers=workers)
    rows = []
    for batch in loader:
        with torch.no_grad():
            rows.append(model(pixel_values=batch).pooler_output.cpu().numpy())
    return np.concatenate(rows).astype(np.float64)


def reference_fd(a: np.ndarray, b: np.ndarray) -> float:
    """dgm-eval's compute_FD_with_reps: np.cov, scipy sqrtm of the product, real part."""
    from scipy import linalg

    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    covmean = covmean.real
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def run_reference(model, generated: Path, reference: Path, batch_size: int, workers: int) -> dict:
    wall, cpu = time.perf_counter(), cpu_seconds()
    a = reference_features(model, reference, batch_size, workers)
    b = reference_features(model, generated, batch_size, workers)
    fd = reference_fd(a, b)
    return {"seconds": time.perf_counter() - wall, "cpu_seconds": cpu_seconds() - cpu, "fd": fd, "features": (a, b)}


def run_gan_eval(generated: Path, reference: Path, weights: Path, batch_size: int, fast: bool, registry) -> dict:
    from gan_eval.api import features
    from gan_eval_plugins.fid import frechet_distance

    options = {f"{EXTRACTOR}.weights": str(weights)}
    wall, cpu = time.perf_counter(), cpu_seconds()
    out = [
        features(str(folder), extractor=EXTRACTOR, options=options, device="cpu", batch_size=batch_size, fast=fast, registry=registry)["outputs"]["features"]
        for folder in (reference, generated)
    ]
    a, b = (np.asarray(x, dtype=np.float64) for x in out)
    fd = frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    return {"seconds": time.perf_counter() - wall, "cpu_seconds": cpu_seconds() - cpu, "fd": float(fd), "features": (a, b)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=64, help="images per folder (two folders)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64, help="gan-eval's batch (its default); dgm-eval uses its own 50")
    parser.add_argument("--workers", type=int, default=None, help="dgm-eval's DataLoader workers (default: its min(8, CPUs))")
    parser.add_argument("--reference-attention", default="eager", choices=("eager", "sdpa"))
    parser.add_argument("--fast", action="store_true", help="also time gan-eval --fast")
    parser.add_argument("--work", help="folder for images and weights (default: a temporary one)")
    args = parser.parse_args()

    from gan_eval.plugins import load_registry
    from gan_eval_plugins.dinov2 import write_standin_weights

    work = Path(args.work or tempfile.mkdtemp(prefix="dinov2-bench-"))
    generated = write_folder(work / f"generated-{args.n}", args.n, seed=1)
    reference = write_folder(work / f"reference-{args.n}", args.n, seed=2)
    weights = write_standin_weights(work / "dinov2_vits14_pretrain.pth", "vits14")
    workers = min(8, len(os.sched_getaffinity(0))) if args.workers is None else args.workers
    model = reference_network(weights, args.reference_attention)
    registry = load_registry()
    warm = write_folder(work / "warm-up-4", 4, seed=3)

    def pipelines_on(gen: Path, ref: Path) -> dict:
        runs = {
            "dgm-eval": lambda: run_reference(model, gen, ref, 50, workers),
            "gan-eval": lambda: run_gan_eval(gen, ref, weights, args.batch_size, False, registry),
        }
        if args.fast:
            runs["gan-eval-fast"] = lambda: run_gan_eval(gen, ref, weights, args.batch_size, True, registry)
        return runs

    for run in pipelines_on(warm, warm).values():  # warm-up (imports, first calls) on 4 images, not timed
        run()
    pipelines = pipelines_on(generated, reference)
    runs: dict[str, list[dict]] = {name: [] for name in pipelines}
    for round_ in range(args.rounds):
        for name, run in pipelines.items():
            result = run()
            runs[name].append(result)
            print(f"round {round_ + 1} {name:14s} {result['seconds']:7.2f} s wall {result['cpu_seconds']:7.2f} s CPU  FD {result['fd']:.10g}", flush=True)

    images = 2 * args.n
    print(
        f"\n{images} images (2 folders × {args.n}, 32×32 PNG → 224×224), DINOv2 ViT-S/14 stand-in weights, "
        f"torch threads {torch.get_num_threads()}, {os.cpu_count()} CPUs; dgm-eval: batch 50, {workers} workers, "
        f"{args.reference_attention} attention; gan-eval: batch {args.batch_size}"
    )
    for clock in ("seconds", "cpu_seconds"):
        med = {name: statistics.median(r[clock] for r in runs[name]) for name in runs}
        print(f"-- by {'wall clock' if clock == 'seconds' else 'CPU time'}, median of {args.rounds}:")
        for name in runs:
            print(f"{name:14s} {images / med[name]:8.2f} images/s   ratio to dgm-eval {med['dgm-eval'] / med[name]:.2f}x")
    ref = runs["dgm-eval"][0]
    for name in [n for n in runs if n != "dgm-eval"]:
        ours = runs[name][0]
        deviation = max(np.abs(x - y).max() for x, y in zip(ours["features"], ref["features"]))
        scale = max(np.abs(y).max() for y in ref["features"])
        print(
            f"{name} vs dgm-eval: max |feature difference| {deviation:.2e} (features up to {scale:.3g}); "
            f"FD {ours['fd']:.10g} vs {ref['fd']:.10g} ({abs(ours['fd'] - ref['fd']) / abs(ref['fd']):.1e} relative)"
        )


if __name__ == "__main__":
    main()
