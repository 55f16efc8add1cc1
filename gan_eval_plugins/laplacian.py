"""Variance of the Laplacian: a no-reference sharpness measure (blurry images score low).

Per image, exactly OpenCV's recipe, computed as one batched tensor operation:

1. gray = ``cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)`` on uint8: weights 0.299, 0.587, 0.114 in
   fixed point, which OpenCV changed between versions: 4.x computes
   ``(4899·R + 9617·G + 1868·B + 2^13) >> 14``, 5.x ``(9798·R + 19235·G + 3735·B + 2^14) >> 15``
   (they differ by one gray level on ~0.3 % of colours). The ``gray`` parameter picks one; its
   default ``installed`` follows the installed OpenCV (probed, not guessed from its version);
2. ``cv2.Laplacian(gray, cv2.CV_64F)`` with the default ``ksize=1``: the 3×3 kernel
   [[0, 1, 0], [1, -4, 1], [0, 1, 0]] with ``BORDER_REFLECT_101`` borders;
3. the population variance (ddof = 0) of that float64 image, computed exactly from integer sums and
   rounded once (so it does not depend on batch size, order or device).

Reported over images: mean, std (ddof = 0) and median; with a reference, the same for it and
``ratio`` = mean / reference mean (1 means as sharp as the reference).

For the HTML report the record also keeps a histogram of log10(VoL) on fixed bins (``details``), and
the plugin contributes a "Sharpness" section that overlays the runs' distributions.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

import gan_eval
from gan_eval.errors import GanEvalError, UsageError
from gan_eval.metric import Metric
from gan_eval.params import Param

_KERNEL = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], dtype=torch.float64)

#: OpenCV's fixed-point RGB→gray for uint8: (R, G, B weights, shift), by OpenCV major version.
GRAY_RECIPES = {"opencv4": (4899, 9617, 1868, 14), "opencv5": (9798, 19235, 3735, 15)}


@functools.lru_cache(maxsize=1)
def installed_gray_recipe() -> str:
    """The entry of :data:`GRAY_RECIPES` the installed OpenCV computes, found by probing it."""
    import cv2

    rng = np.random.default_rng(0)
    probe = np.concatenate([[[0, 0, 250], [0, 1, 201], [255, 255, 255]], rng.integers(0, 256, (4096, 3))]).astype(np.uint8)
    expected = cv2.cvtColor(probe[None], cv2.COLOR_RGB2GRAY)[0].astype(np.int64)
    for name in GRAY_RECIPES:
        if np.array_equal(opencv_gray(torch.from_numpy(probe.T[None, :, :, None]), name)[0, :, 0].numpy(), expected):
            return name
    raise GanEvalError(f"the installed OpenCV {cv2.__version__} converts RGB to gray by none of the known recipes {sorted(GRAY_RECIPES)}")


def opencv_gray(images: torch.Tensor, recipe: str | None = None) -> torch.Tensor:
    """uint8 N×3×H×W RGB → int64 N×H×W gray, bit-identical to cv2.COLOR_RGB2GRAY of OpenCV
    ``recipe`` (a key of :data:`GRAY_RECIPES`; default: the installed OpenCV's)."""
    red, green, blue, shift = GRAY_RECIPES[recipe or installed_gray_recipe()]
    rgb = images.to(torch.int64)
    return (red * rgb[:, 0] + green * rgb[:, 1] + blue * rgb[:, 2] + (1 << (shift - 1))) >> shift


def variance_of_laplacian(images: torch.Tensor, recipe: str | None = None) -> torch.Tensor:
    """Per-image variance of the Laplacian (float64, shape N); ``recipe`` as in :func:`opencv_gray`."""
    gray = opencv_gray(images, recipe).to(torch.float64)[:, None]
    if min(gray.shape[-2:]) < 2:
        raise ValueError(f"images of size {tuple(gray.shape[-2:])} are too small for a 3×3 Laplacian")
    padded = F.pad(gray, (1, 1, 1, 1), mode="reflect")  # torch's reflect is OpenCV's REFLECT_101
    laplacian = F.conv2d(padded, _KERNEL.to(gray.device)[None, None]).flatten(1)  # integers: exact
    # Every partial sum is an integer below 2**53, so these sums are exact in any order; the variance
    # (n·Σx² − (Σx)²) / n² is then divided once, in Python integers (correctly rounded). Hence the
    # values are bit-identical whatever the batch size, order or device.
    sums = laplacian.sum(dim=1).to(torch.int64).tolist()
    squares = (laplacian * laplacian).sum(dim=1).to(torch.int64).tolist()
    n = laplacian.shape[1]
    variances = [(n * s2 - s1 * s1) / (n * n) for s1, s2 in zip(sums, squares)]
    return torch.tensor(variances, dtype=torch.float64, device=images.device)


class VarianceOfLaplacian(Metric):
    name = "laplacian"
    summary = "variance of the Laplacian (sharpness; OpenCV recipe), mean/std/median, ratio to reference"
    requires = frozenset({"images"})
    reference = "optional"
    primary = "mean"
    higher_is_better = None  # sharper is not always better: compare with the reference (ratio)
    params = {"gray": Param("installed", "RGB→gray recipe: installed (the installed OpenCV's), opencv4 or opencv5")}

    def __init__(self, **params):
        super().__init__(**params)
        if self.p["gray"] == "installed":
            self.p["gray"] = installed_gray_recipe()  # the record says which one ran
        if self.p["gray"] not in GRAY_RECIPES:
            raise UsageError(f"metric laplacian: gray={self.p['gray']!r} is not one of installed, {', '.join(GRAY_RECIPES)}")

    def state_spec(self):
        return {"values": "cat"}

    def update(self, state, inputs):
        state.append("values", variance_of_laplacian(inputs["images"], self.p["gray"]))

    def compute(self, generated, reference):
        values = summarise(generated.get("values"))
        if reference is not None and reference.get("values") is not None:
            ref = summarise(reference.get("values"))
            values.update({f"ref_{k}": v for k, v in ref.items()})
            values["ratio"] = values["mean"] / ref["mean"] if ref["mean"] > 0 else float("nan")
        return values

    def details(self, generated, reference):
        details = {"log10_edges": list(HISTOGRAM_EDGES), "generated": log_histogram(generated.get("values"))}
        if reference is not None and reference.get("values") is not None:
            details["reference"] = log_histogram(reference.get("values"))
        return details


#: log10(VoL) bins (1/40 decade) shared by every run, so that histograms from different records
#: overlay exactly. uint8 images have VoL in [0, ~1.7e6]; values below 10^-1 (flat) go into the first bin.
HISTOGRAM_EDGES = tuple(round(-1.0 + 0.025 * i, 3) for i in range(301))  # -1 … 6.5


def log_histogram(values: torch.Tensor) -> list[int]:
    """Counts of log10(VoL) per :data:`HISTOGRAM_EDGES` bin, the ends clamped into the outer bins."""
    lo, hi = HISTOGRAM_EDGES[0], HISTOGRAM_EDGES[-1]
    logs = np.clip(np.log10(np.maximum(values.cpu().numpy().astype(np.float64), 10.0**lo)), lo, hi)
    return [int(c) for c in np.histogram(logs, bins=np.array(HISTOGRAM_EDGES))[0]]


def summarise(values: torch.Tensor) -> dict[str, float]:
    values = values.to(torch.float64)
    return {
        "mean": float(values.mean()),
        "std": float(values.std(unbiased=False)),
        "median": float(values.median()) if len(values) % 2 else float(values.sort().values[len(values) // 2 - 1 : len(values) // 2 + 1].mean()),
    }


@gan_eval.hookimpl
def register_metrics():
    return [VarianceOfLaplacian]


@gan_eval.hookimpl
def register_report_sections():
    from .laplacian_report import SharpnessSection

    return [SharpnessSection]
