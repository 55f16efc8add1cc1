"""Variance of the Laplacian: a no-reference sharpness measure (blurry images score low).

Per image, exactly OpenCV's recipe, computed as one batched tensor operation:

1. gray = ``cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)`` on uint8, i.e. the fixed-point
   ``(4899·R + 9617·G + 1868·B + 8192) >> 14`` (weights 0.299, 0.587, 0.114), rounded to uint8;
2. ``cv2.Laplacian(gray, cv2.CV_64F)`` with the default ``ksize=1``: the 3×3 kernel
   [[0, 1, 0], [1, -4, 1], [0, 1, 0]] with ``BORDER_REFLECT_101`` borders;
3. the population variance (ddof = 0) of that float64 image.

Reported over images: mean, std (ddof = 0) and median; with a reference, the same for it and
``ratio`` = mean / reference mean (1 means as sharp as the reference).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

import gan_eval
from gan_eval.metric import Metric

_KERNEL = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], dtype=torch.float64)


def opencv_gray(images: torch.Tensor) -> torch.Tensor:
    """uint8 N×3×H×W RGB → int64 N×H×W gray, bit-identical to cv2.COLOR_RGB2GRAY."""
    rgb = images.to(torch.int64)
    return (4899 * rgb[:, 0] + 9617 * rgb[:, 1] + 1868 * rgb[:, 2] + 8192) >> 14


def variance_of_laplacian(images: torch.Tensor) -> torch.Tensor:
    """Per-image variance of the Laplacian (float64, shape N)."""
    gray = opencv_gray(images).to(torch.float64)[:, None]
    if min(gray.shape[-2:]) < 2:
        raise ValueError(f"images of size {tuple(gray.shape[-2:])} are too small for a 3×3 Laplacian")
    padded = F.pad(gray, (1, 1, 1, 1), mode="reflect")  # torch's reflect is OpenCV's REFLECT_101
    laplacian = F.conv2d(padded, _KERNEL.to(gray.device)[None, None])
    return laplacian.flatten(1).var(dim=1, unbiased=False)


class VarianceOfLaplacian(Metric):
    name = "laplacian"
    summary = "variance of the Laplacian (sharpness; OpenCV recipe), mean/std/median, ratio to reference"
    requires = frozenset({"images"})
    reference = "optional"
    primary = "mean"
    higher_is_better = None  # sharper is not always better: compare with the reference (ratio)

    def state_spec(self):
        return {"values": "cat"}

    def update(self, state, inputs):
        state.append("values", variance_of_laplacian(inputs["images"]))

    def compute(self, generated, reference):
        values = summarise(generated.get("values"))
        if reference is not None and reference.get("values") is not None:
            ref = summarise(reference.get("values"))
            values.update({f"ref_{k}": v for k, v in ref.items()})
            values["ratio"] = values["mean"] / ref["mean"] if ref["mean"] > 0 else float("nan")
        return values


def summarise(values: torch.Tensor) -> dict[str, float]:
    values = values.to(torch.float64)
    return {
        "mean": float(values.mean()),
        "std": float(values.std(unbiased=False)),
        "median": float(values.median()) if len(values) % 2 else float(values.sort().values[len(values) // 2 - 1: len(values) // 2 + 1].mean()),
    }


@gan_eval.hookimpl
def register_metrics():
    return [VarianceOfLaplacian]
