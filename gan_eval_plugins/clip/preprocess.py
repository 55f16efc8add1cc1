"""Preprocessing profiles: uint8 RGB N×3×H×W of any size → CLIP's float input (size × size).

- ``cmmd`` (default): the CMMD authors' pipeline (google-research/cmmd io_util and embedding): crop
  the largest centred square (PIL box, offsets rounded down), PIL bicubic resize to the model's size
  (antialiased, rounded to uint8), ``/255``, then CLIP's mean/std in float32. (Their extra
  same-size ``jax.image.resize`` is the identity.)
- ``openai``: OpenAI's and open_clip's own transform: PIL bicubic resize of the shorter side to
  the model's size, centre crop, ``/255``, CLIP's mean/std.
Both run PIL (through torchvision's functional API for ``openai``) on the CPU, so they are exact.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from PIL import Image

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def _pil_images(images: torch.Tensor) -> list[Image.Image]:
    return [Image.fromarray(a, "RGB") for a in images.permute(0, 2, 3, 1).cpu().numpy()]


def _to_input(pils: list[Image.Image], device: torch.device) -> torch.Tensor:
    x = torch.from_numpy(np.stack([np.asarray(p) for p in pils])).permute(0, 3, 1, 2).to(device, torch.float32).div(255)
    mean = torch.as_tensor(CLIP_MEAN, dtype=x.dtype, device=device).view(1, -1, 1, 1)
    std = torch.as_tensor(CLIP_STD, dtype=x.dtype, device=device).view(1, -1, 1, 1)
    return (x - mean) / std


def centre_square(image: Image.Image) -> Image.Image:
    w, h = image.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return image.crop((left, top, left + side, top + side))


def cmmd(images: torch.Tensor, size: int) -> torch.Tensor:
    pils = [centre_square(p).resize((size, size), resample=Image.Resampling.BICUBIC) for p in _pil_images(images)]
    return _to_input(pils, images.device)


def openai(images: torch.Tensor, size: int) -> torch.Tensor:
    import torchvision.transforms.functional as TF
    from torchvision.transforms import InterpolationMode

    pils = [TF.center_crop(TF.resize(p, size, interpolation=InterpolationMode.BICUBIC), size) for p in _pil_images(images)]
    return _to_input(pils, images.device)


PROFILES: dict[str, Callable[[torch.Tensor, int], torch.Tensor]] = {"cmmd": cmmd, "openai": openai}
