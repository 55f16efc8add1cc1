"""Deterministic stand-in DINOv2 weights in the official key layout, for tests and benchmarks.

The official files cannot be downloaded here. A stand-in has exactly the official keys, shapes and
dtype (float32, 37×37 position embeddings, mask token), so the same file loads into gan-eval and,
converted, into transformers' Dinov2Model. Values are seeded random at scales that keep the
activations healthy through every block (unit-variance projections, layer scales around 0.1, norm
gains near 1), so features differ clearly between images. It is NOT DINOv2: only its numbers are fake.
"""

from __future__ import annotations

from pathlib import Path

import torch

from gan_eval.atomic import atomic_open

from .architectures import ARCHS


def standin_state_dict(arch: str = "vits14", seed: int = 0, depth: int | None = None) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in ARCHS[arch].official_layout(depth).items():
        fan_in = shape[-1] if len(shape) == 2 else (3 * shape[2] * shape[3] if len(shape) == 4 else 1)
        noise = torch.randn(shape, generator=generator)
        if key == "mask_token":
            value = torch.zeros(shape)
        elif key.endswith(".gamma"):
            value = 0.1 + 0.05 * noise
        elif "norm" in key and key.endswith("weight"):
            value = 1.0 + 0.1 * noise
        elif key.endswith("bias"):
            value = 0.02 * noise
        elif key in ("cls_token", "pos_embed"):
            value = 0.02 * noise  # small, as trained ones: the CLS token then depends on the image
        else:  # linear and patch-embedding weights
            value = noise / fan_in**0.5
        state[key] = value.contiguous()
    return state


def write_standin_weights(path: str | Path, arch: str = "vits14", seed: int = 0, depth: int | None = None) -> Path:
    """Write the stand-in state dict to ``path`` atomically; returns ``path``."""
    path = Path(path)
    with atomic_open(path, "wb", encoding=None) as handle:
        torch.save(standin_state_dict(arch, seed, depth), handle)
    return path
