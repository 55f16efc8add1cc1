"""Deterministic stand-in OpenAI CLIP files (image tower only), for tests and benchmarks.

The real files cannot be downloaded here. A stand-in is what OpenAI ships, minus the text tower: a
TorchScript archive of float16 tensors under OpenAI's ``visual.*`` names and shapes, so it goes
through the same loading path (and, converted, into transformers' CLIPVisionModelWithProjection).
Values are seeded random at scales that keep activations healthy. Its SHA-256 is not OpenAI's, so
using it needs ``allow_nonstandard``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.nn as nn

from gan_eval.atomic import atomic_open

from .models import MODELS


def standin_state_dict(model: str = "vitb32", seed: int = 0, layers: int | None = None) -> dict[str, torch.Tensor]:
    """``visual.*`` tensors in OpenAI's layout, float16 as OpenAI stores them."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in MODELS[model].visual_layout(layers).items():
        noise = torch.randn(shape, generator=generator)
        if key.startswith("ln") and key.endswith("weight") or ".ln_" in key and key.endswith("weight"):
            value = 1.0 + 0.1 * noise
        elif key.endswith("bias"):
            value = 0.02 * noise
        elif key in ("class_embedding", "positional_embedding"):
            value = 0.02 * noise
        elif key == "conv1.weight":
            value = noise / (3 * shape[2] * shape[3]) ** 0.5
        else:  # linear weights; proj is width x embed (used as x @ proj)
            fan_in = shape[0] if key == "proj" else shape[-1]
            value = noise / fan_in**0.5
        state[f"visual.{key}"] = value.half().contiguous()
    return state


class _Holder(nn.Module):
    """A module tree whose parameters carry OpenAI's names; forward is never used."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def _module_tree(state: dict[str, torch.Tensor]) -> nn.Module:
    root = _Holder()
    for key, value in state.items():
        *path, leaf = key.split(".")
        module = root
        for part in path:
            if not hasattr(module, part):
                module.add_module(part, _Holder())
            module = getattr(module, part)
        module.register_parameter(leaf, nn.Parameter(value, requires_grad=False))
    return root


def write_standin_weights(path: str | Path, model: str = "vitb32", seed: int = 0, layers: int | None = None, torchscript: bool = True) -> Path:
    """Write the stand-in to ``path`` atomically: a TorchScript archive like OpenAI's, or a plain state dict."""
    path = Path(path)
    state = standin_state_dict(model, seed, layers)
    with atomic_open(path, "wb", encoding=None) as handle:
        if torchscript:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated, but it is OpenAI's format
                torch.jit.save(torch.jit.script(_module_tree(state)), handle)
        else:
            torch.save(state, handle)
    return path
