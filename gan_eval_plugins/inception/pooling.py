"""The Inception network's 3×3 pools, bit for bit as ``F.max_pool2d`` / ``F.avg_pool2d``, faster on a CPU.

torch's CPU pooling kernels for NCHW tensors walk one channel plane at a time and barely vectorise:
at 8 images they took ~20 % of the whole Inception pass (profiled: 2.4 of 11.7 s), 6–15× longer than
the same pools on channels-last tensors. The convolutions must stay NCHW (in channels-last they round
differently: features moved 1e-4, beyond the 1e-5 kept with the reference tools), so only the pools
change, and only where they give the same values:

* max pool: the maximum of three strided views along each axis (max is exact, so the order of
  comparisons does not matter; -inf padding as ``F.max_pool2d`` pads); 6× faster;
* TF's average pool (count_include_pad=False): the channels-last kernel, which sums each window in
  the same order as the NCHW one, with the layout changed in and out; 2× faster.

Elsewhere (GPU, channels-last input) they call torch's kernels, which are fast there.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _cpu_nchw(x: torch.Tensor) -> bool:
    return x.device.type == "cpu" and x.is_contiguous()


def _max3(x: torch.Tensor, dim: int, stride: int) -> torch.Tensor:
    """Max over windows of 3 along ``dim`` with ``stride`` (no padding)."""
    n = (x.shape[dim] - 3) // stride + 1
    views = [x.narrow(dim, offset, (n - 1) * stride + 1)[(slice(None),) * dim + (slice(None, None, stride),)] for offset in range(3)]
    return torch.maximum(torch.maximum(views[0], views[1]), views[2])


def max_pool_3x3(x: torch.Tensor, stride: int, padding: int = 0) -> torch.Tensor:
    """``F.max_pool2d(x, 3, stride, padding)``."""
    if not _cpu_nchw(x):
        return F.max_pool2d(x, kernel_size=3, stride=stride, padding=padding)
    if padding:
        x = F.pad(x, (padding,) * 4, value=float("-inf"))
    return _max3(_max3(x, 2, stride), 3, stride)


def tf_avg_pool_3x3(x: torch.Tensor) -> torch.Tensor:
    """3×3 stride-1 SAME average pool that, like TF's, averages only the pixels inside the image."""
    if not _cpu_nchw(x):
        return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)
    pooled = F.avg_pool2d(x.contiguous(memory_format=torch.channels_last), kernel_size=3, stride=1, padding=1, count_include_pad=False)
    return pooled.contiguous()
