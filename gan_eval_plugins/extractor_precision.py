"""The precision parameters the ViT extractors (DINOv2, CLIP) share.

``dtype`` casts weights and activations (bfloat16 halves memory and, on GPUs, roughly doubles speed
for ViTs); ``autocast`` keeps float32 weights and runs matmuls in low precision, and is what
gan_eval.numerics' fast mode sets on GPUs. Both change the values, so they are recorded in the
extractor's identity and never the default.
"""

from __future__ import annotations

import contextlib
from typing import Any, Mapping

import torch

from gan_eval.errors import UsageError
from gan_eval.params import Param

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
AUTOCAST = {"": None, "off": None, "bfloat16": torch.bfloat16, "float16": torch.float16}

PARAMS = {
    "dtype": Param("float32", "weights and activations: float32, or bfloat16 (faster, not for comparable numbers)"),
    "autocast": Param("", "mixed precision: bfloat16 or float16 (set by --fast on GPUs; changes the values)"),
}


def check_choices(owner: str, p: Mapping[str, Any], choices: Mapping[str, Mapping[str, Any]]) -> None:
    """A UsageError naming ``owner`` for any parameter whose value is not one of its choices."""
    for name, allowed in choices.items():
        if p[name] not in allowed:
            known = ", ".join(c for c in allowed if c)
            raise UsageError(f"extractor {owner}: {name}={p[name]!r} is not one of {known}")


def autocast(device: torch.device, name: str):
    dtype = AUTOCAST[name]
    return contextlib.nullcontext() if dtype is None else torch.autocast(device_type=device.type, dtype=dtype)
