"""Preprocessing profiles: uint8 RGB N×3×H×W of any size → the network's float N×3×224×224 input.

- ``dgm-eval`` (default): what dgm-eval's DINOv2 encoder does to each image: a PIL bicubic resize
  to 224×224 (PIL always antialiases, and rounds the result to uint8), then ``/255`` and ImageNet
  mean/std in float32 (torchvision's ToTensor and Normalize). Done with PIL itself, so it is exact.
- ``torch-fidelity``: torch-fidelity's ``dinov2-vit-*-14`` extractor: TensorFlow-1 bilinear resize
  of the float 0..255 values to 224×224 (no antialiasing), then mean/std scaled by 255.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from PIL import Image

from gan_eval_plugins.inception.preprocess import tf1_resize_bilinear

from .architectures import INPUT_SIZE

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def pil_bicubic(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 N×3×H×W → uint8 N×3×size×size, each image resized by PIL's bicubic filter on the CPU."""
    arrays = images.permute(0, 2, 3, 1).cpu().numpy()
    resized = [np.asarray(Image.fromarray(a, "RGB").resize((size, size), Image.Resampling.BICUBIC)) for a in arrays]
    return torch.from_numpy(np.stack(resized)).permute(0, 3, 1, 2)


def _normalise(x: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    m = torch.as_tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    s = torch.as_tensor(std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return (x - m) / s


def dgm_eval(images: torch.Tensor) -> torch.Tensor:
    x = pil_bicubic(images, INPUT_SIZE).to(images.device, torch.float32).div(255)
    return _normalise(x, IMAGENET_MEAN, IMAGENET_STD)


def torch_fidelity(images: torch.Tensor) -> torch.Tensor:
    x = tf1_resize_bilinear(images.to(torch.float32), INPUT_SIZE)
    return _normalise(x, tuple(255 * m for m in IMAGENET_MEAN), tuple(255 * s for s in IMAGENET_STD))


PROFILES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "dgm-eval": dgm_eval,
    "torch-fidelity": torch_fidelity,
}
