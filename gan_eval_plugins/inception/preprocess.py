"""Preprocessing profiles: uint8 RGB images of any size → the network's N×3×299×299 input in [-1, 1].

How images reach 299×299 changes FID by whole points, so the profile is an explicit, recorded choice:

- ``tf1``: TensorFlow 1.x ``resize_bilinear`` (align_corners=False, no half-pixel centres) on
  values 0..255, then (x − 128) / 128. What the original TF FID/IS code did and torch-fidelity matches.
- ``pytorch-fid``: x / 255, ``F.interpolate(bilinear, align_corners=False)``, then 2x − 1, as pytorch-fid.
- ``clean``: antialiased bicubic resize (PIL's filter, a = −0.5, widened when shrinking) of the float
  values 0..255, clipped to [0, 255], then (x − 128) / 128: clean-fid's "clean" mode, done for the
  whole batch with torch's ``antialias=True`` bicubic instead of PIL per image and channel.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

SIZE = 299


def tf1_resize_bilinear(x: torch.Tensor, size: int = SIZE) -> torch.Tensor:
    """TF1 ``resize_bilinear`` of a float N×C×H×W batch: source coordinate = target index × (in / out).

    The arithmetic (float32 coordinates, lerp as a + (b − a)·t along x then y) follows TF1's kernel,
    so the result equals torch-fidelity's epsilon-exact port bit for bit on CPU.
    """
    rows = _tf1_taps(x.shape[2], size, x.device)
    cols = _tf1_taps(x.shape[3], size, x.device)
    top = x.index_select(2, rows[0])
    bottom = x.index_select(2, rows[1])
    top = _lerp(top.index_select(3, cols[0]), top.index_select(3, cols[1]), cols[2].to(x.dtype).view(1, 1, 1, -1))
    bottom = _lerp(bottom.index_select(3, cols[0]), bottom.index_select(3, cols[1]), cols[2].to(x.dtype).view(1, 1, 1, -1))
    return _lerp(top, bottom, rows[2].to(x.dtype).view(1, 1, -1, 1))


def _tf1_taps(n_in: int, n_out: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For each output index: the lower and upper source index and the weight of the upper one."""
    position = torch.arange(n_out, dtype=torch.float32, device=device) * torch.tensor(n_in / n_out, dtype=torch.float32)
    low = position.long()
    high = (low + 1).clamp_max(n_in - 1)
    return low, high, position - low.float()


def _lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return a + (b - a) * t


def tf1(images: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    x = tf1_resize_bilinear(images.to(dtype))
    return (x - 128) / 128


def pytorch_fid(images: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    x = images.to(dtype) / 255
    x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    return 2 * x - 1


def clean(images: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    x = images.to(dtype)
    if x.shape[-2:] != (SIZE, SIZE):
        x = F.interpolate(x, size=(SIZE, SIZE), mode="bicubic", align_corners=False, antialias=True).clamp_(0, 255)
    return (x - 128) / 128


PROFILES: dict[str, Callable[[torch.Tensor, torch.dtype], torch.Tensor]] = {
    "tf1": tf1,
    "pytorch-fid": pytorch_fid,
    "clean": clean,
}
