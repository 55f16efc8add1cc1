"""Training images from any gan-eval source spec, and per-step random streams.

Reading data through the source plugins means a trainer accepts whatever ``gan-eval score`` does:
``dataset:mnist5k:train``, ``dataset:fashion-mnist:train``, a folder of images, an .npz file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch

from gan_eval.errors import InputError
from gan_eval.plugins import load_registry
from gan_eval.source import SourceOptions
from gan_eval.specs import open_source


@dataclass
class TrainingData:
    """Images as float N×C×H×W in [-1, 1] (on the CPU), plus where they came from."""

    images: torch.Tensor
    spec: str
    name: str

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def size(self) -> int:
        return int(self.images.shape[2])


def load_training_images(spec: str, limit: int | None = None, size: int | None = None) -> TrainingData:
    """Read every image of ``spec`` once; gray sources stay single-channel. ``size``: resize to
    ``size``×``size`` (bilinear, antialiased; the presets' 28 → 64 upsampling of MNIST)."""
    source = open_source(load_registry(), spec, SourceOptions(limit=limit))
    info = source.info()
    if len(source) == 0:
        raise InputError(spec, "holds no images to train on")
    images = source.read(0, len(source)).images  # uint8 N×3×H×W
    if info.get("channels") == 1:
        images = images[:, :1]
    if images.shape[2] != images.shape[3]:
        raise InputError(spec, f"training images must be square, these are {images.shape[2]}×{images.shape[3]}")
    tensor = torch.from_numpy(np.ascontiguousarray(images)).float().div_(127.5).sub_(1.0)
    if size is not None and size != tensor.shape[2]:
        tensor = torch.nn.functional.interpolate(tensor, size=(size, size), mode="bilinear", align_corners=False, antialias=True).clamp_(-1.0, 1.0)
    return TrainingData(tensor, source.spec, str(info.get("dataset") or spec))


def mix_seed(*parts: int | str) -> int:
    """A 63-bit seed from several parts: streams for different (seed, step) never overlap by accident."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def stream(*parts: int | str) -> torch.Generator:
    """A CPU random generator seeded from ``parts``; draws are then moved to the training device,
    so the random numbers do not depend on the device."""
    return torch.Generator(device="cpu").manual_seed(mix_seed(*parts))
