"""Deterministic stand-in for the standard Inception weights, for tests and benchmarks.

The standard file cannot be downloaded here. The stand-in has exactly its keys and shapes, so the same
file loads into gan-eval, torch-fidelity and pytorch-fid, and their outputs can be compared. Its
activations are not degenerate: convolutions are He-initialised from ``seed``, every batch norm's
running statistics are measured on a batch of smooth random images (so each layer's output is
standardised, then given a small random shift and scale), and the fc layer is scaled and centred so
that the unbiased logits (the ones IS uses) are centred and differ between images by a few units. It is NOT the standard network: its SHA-256
differs, so loading it needs ``allow_nonstandard`` and results are marked non-standard.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_eval.atomic import atomic_open

from .network import TFInceptionV3


def build_standin_network(seed: int = 0, n_images: int = 8) -> TFInceptionV3:
    """A TFInceptionV3 with deterministic, well-scaled weights (float32, eval mode, on CPU)."""
    generator = torch.Generator().manual_seed(seed)
    net = TFInceptionV3()
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            fan_in = module.in_channels * module.kernel_size[0] * module.kernel_size[1]
            module.weight.data = torch.randn(module.weight.shape, generator=generator) * (2.0 / fan_in) ** 0.5
        elif isinstance(module, nn.BatchNorm2d):
            module.weight.data = 1.0 + 0.1 * torch.randn(module.num_features, generator=generator)
            module.bias.data = 0.1 * torch.randn(module.num_features, generator=generator)
            module.momentum = None  # running statistics = the calibration batch's statistics
            module.reset_running_stats()
    images = calibration_images(n_images, generator)
    with torch.no_grad():
        net.train()
        pool = net.pool3(images)
        net.eval()
        pool = net.pool3(images)  # with the calibrated statistics, as inference will see it
        mean = pool.mean(0)
        weight = torch.randn(net.fc.weight.shape, generator=generator)
        weight -= torch.outer(weight @ mean, mean) / mean.dot(mean).clamp_min(1e-12)  # unbiased logits centred
        spread = ((pool - mean) @ weight.t()).std().clamp_min(1e-12)
        net.fc.weight.data = weight * (3.0 / spread)
        net.fc.bias.data = 0.1 * torch.randn(net.fc.bias.shape, generator=generator)
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = 0.1  # back to the default, so the network looks like any other
    return net.requires_grad_(False).eval()


def calibration_images(n: int, generator: torch.Generator, size: int = 299) -> torch.Tensor:
    """N×3×size×size in [-1, 1], varied like real inputs: smooth colour fields, fields with pixel
    noise, pure noise, and small noisy images upsampled (as 28×28 or 32×32 data is)."""
    coarse = torch.rand((n, 3, 8, 8), generator=generator) * 2 - 1
    smooth = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
    noise = torch.rand((n, 3, size, size), generator=generator) * 2 - 1
    small = F.interpolate(torch.rand((n, 3, 32, 32), generator=generator) * 2 - 1, size=(size, size), mode="bilinear", align_corners=False)
    amount = torch.linspace(0, 1, n).view(n, 1, 1, 1)
    kinds = torch.arange(n).view(n, 1, 1, 1) % 2 == 0
    mixed = torch.where(kinds, (1 - amount) * smooth + amount * noise, (1 - amount) * small + amount * smooth)
    return mixed.clamp(-1, 1)


def write_standin_weights(path: str | Path, seed: int = 0) -> Path:
    """Write the stand-in state dict (same keys and shapes as the standard file) to ``path`` atomically."""
    path = Path(path)
    state = build_standin_network(seed).state_dict()
    with atomic_open(path, "wb", encoding=None) as handle:
        torch.save(state, handle)
    return path


def standin_weights_file(directory: str | Path, seed: int = 0) -> Path:
    """``directory``/standin-inception-seed{seed}.pth, written on first use (shared by tests and benchmarks)."""
    path = Path(directory) / f"standin-inception-seed{seed}.pth"
    if not path.is_file():
        write_standin_weights(path, seed)
    return path
