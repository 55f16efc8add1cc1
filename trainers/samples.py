"""Sample grids: the same latent batch rendered every N steps, so progress is visible at a glance."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from gan_eval.atomic import atomic_write_bytes
from gan_eval_plugins.sources.generators import block_latents

#: latents of the grid: the first 64 of the ckpt: source's block 0 for seed 0
GRID_SEED = 0


def samples_dir(checkpoint: Path) -> Path:
    return checkpoint.with_name(checkpoint.stem + ".samples")


@torch.no_grad()
def grid(generator: nn.Module, latent: int, device: torch.device, n: int = 64, pad: int = 2) -> np.ndarray:
    """uint8 H×W×C image of ``n`` samples (√n columns), black padding."""
    was_training = generator.training
    generator.eval()
    try:
        images = generator(block_latents(GRID_SEED, 0, (latent,))[:n].to(device)).cpu()
    finally:
        generator.train(was_training)
    images = np.rint((images.clamp(-1, 1).numpy().astype(np.float64) + 1.0) / 2.0 * 255.0).astype(np.uint8)
    count, channels, size, _ = images.shape
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    out = np.zeros((rows * (size + pad) + pad, cols * (size + pad) + pad, channels), np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        y, x = pad + r * (size + pad), pad + c * (size + pad)
        out[y : y + size, x : x + size] = image.transpose(1, 2, 0)
    return out


def write_grid(checkpoint: Path, step: int, generator: nn.Module, latent: int, device: torch.device) -> Path:
    picture = grid(generator, latent, device)
    path = samples_dir(checkpoint) / f"step-{step:07d}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    Image.fromarray(picture[..., 0] if picture.shape[2] == 1 else picture).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())
    return path
