"""One conversion policy for every source: any decoded image or array to uint8 RGB, channels first.

The rules (documented in docs/sources.md, *Decoding policy*):

- uint8 as is; bool → 0/255; uint16 → ``round(v / 257)`` (65535 → 255; the 8-bit value v stored
  as 257·v comes back exactly), computed in integers;
- floats need a value range, ``"0,1"`` or ``"-1,1"``: stated (``--range``) or inferred from the data,
  then ``rint(255·x)`` after mapping to [0, 1]; NaN/Inf and values beyond the range are errors;
- any other dtype (int8, int32, complex ...) is refused: it has no agreed range;
- gray is repeated to three channels, alpha is dropped (not composited);
- layouts are read with :func:`layout_of`, the same function for one image and for a stack, so a
  shape a stacked ``.npy`` refuses as ambiguous is refused in a folder too.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError

RANGES = {"0,1": (0.0, 1.0), "-1,1": (-1.0, 1.0)}
#: Values beyond a stated range by more than this are an error (rounding noise is not).
RANGE_TOLERANCE = 1e-4


def image_dims(shape: tuple[int, ...], layout: str) -> tuple[int, int, int]:
    """(channels, height, width) of a stack of ``shape`` in ``layout`` (``NHW``: 1 channel)."""
    if layout == "NHW":
        return 1, int(shape[1]), int(shape[2])
    if layout == "NHWC":
        return int(shape[3]), int(shape[1]), int(shape[2])
    return int(shape[1]), int(shape[2]), int(shape[3])


def layout_of(shape: tuple[int, ...], stated: str | None, where: str) -> str:
    """``NHW``, ``NHWC`` or ``NCHW`` for an image stack of this shape (a single image: ``(1, *shape)``)."""
    if stated:
        stated = stated.upper()
        stated = {"HW": "NHW", "HWC": "NHWC", "CHW": "NCHW"}.get(stated, stated)
        expected_ndim = {"NHW": 3, "NHWC": 4, "NCHW": 4}.get(stated)
        if expected_ndim is None or len(shape) != expected_ndim:
            raise InputError(where, f"layout={stated} does not fit an array of shape {shape} (use NHW, NHWC or NCHW)")
        channels = image_dims(shape, stated)[0]
        if channels not in (1, 2, 3, 4):
            raise InputError(where, f"layout={stated} gives {channels} channels for shape {shape} (expected 1, 3 or 4)")
        return stated
    if len(shape) == 3:
        return "NHW"
    if len(shape) == 4:
        channels_last, channels_first = shape[3] in (1, 3, 4), shape[1] in (1, 3, 4)
        if channels_last and not channels_first:
            return "NHWC"
        if channels_first and not channels_last:
            return "NCHW"
        if channels_last and channels_first:
            raise InputError(where, f"shape {shape} is ambiguous: pass --source-option layout=NHWC or layout=NCHW")
    raise InputError(where, f"array of shape {shape} is not an image stack (expected N×H×W, N×H×W×C or N×C×H×W with C in 1, 3, 4)")


def to_hwc(array: np.ndarray, layout: str) -> np.ndarray:
    """A stack in ``layout`` as N×H×W×C (a view)."""
    if layout == "NHW":
        return array[..., None]
    if layout == "NCHW":
        return array.transpose(0, 2, 3, 1)
    return array


def to_rgb_uint8(image: np.ndarray, where: str, value_range: str | None = None) -> np.ndarray:
    """One image (H×W, H×W×1, H×W×2, H×W×3 or H×W×4; any supported dtype) as uint8 3×H×W RGB."""
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 2, 3, 4):
        raise InputError(where, f"unsupported image shape {image.shape} (expected H×W, H×W×1, H×W×3 or H×W×4)")
    channels = image.shape[2]
    image = image[:, :, :1] if channels in (1, 2) else image[:, :, :3]  # gray(+alpha) or RGB(A): alpha dropped
    image = to_uint8(image, where, value_range)
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image.transpose(2, 0, 1))


def to_uint8(array: np.ndarray, where: str, value_range: str | None = None) -> np.ndarray:
    """Pixel values of any supported dtype as uint8 (floats need ``value_range`` or are inferred)."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if array.dtype == np.uint16:
        return uint16_to_uint8(array)
    if array.dtype.kind == "f":
        return float_to_uint8(array, value_range or infer_value_range(array, where), where)
    raise InputError(where, f"unsupported pixel type {array.dtype} (expected uint8, uint16, bool or float)")


def uint16_to_uint8(array: np.ndarray) -> np.ndarray:
    """``round(v / 257)`` exactly, in integers: 257 is odd, so v/257 is never a tie."""
    return ((array.astype(np.uint32) * 2 + 257) // 514).astype(np.uint8)


def float_to_uint8(array: np.ndarray, value_range: str, where: str) -> np.ndarray:
    """Floats in ``"0,1"`` or ``"-1,1"`` to uint8 by ``rint(x·255)`` after mapping to [0, 1]."""
    if value_range not in RANGES:
        raise InputError(where, f"value range {value_range!r} is not one of {', '.join(RANGES)}")
    if not np.isfinite(array).all():
        raise InputError(where, "contains NaN or Inf values")
    lo, hi = RANGES[value_range]
    if array.size and (array.min() < lo - RANGE_TOLERANCE or array.max() > hi + RANGE_TOLERANCE):
        raise InputError(where, f"float values span [{array.min():.4g}, {array.max():.4g}], outside the stated range [{lo:g}, {hi:g}]")
    unit = (array.astype(np.float64) - lo) / (hi - lo)
    return np.rint(np.clip(unit, 0.0, 1.0) * 255.0).astype(np.uint8)


def infer_value_range(array: np.ndarray, where: str) -> str:
    """``"0,1"`` or ``"-1,1"`` from the data, or an error asking the user to say which."""
    if not np.isfinite(array).all():
        raise InputError(where, "contains NaN or Inf values")
    if array.size == 0:
        return "0,1"
    lo, hi = float(array.min()), float(array.max())
    if lo >= 0.0 and hi <= 1.0:
        return "0,1"
    if lo >= -1.0 and hi <= 1.0:
        return "-1,1"
    raise InputError(where, f"float values span [{lo:.4g}, {hi:.4g}]: neither [0, 1] nor [-1, 1]; rescale them, save uint8, or state --range")


def parse_size(text: str, where: str) -> tuple[int, int]:
    """``"64x64"`` → (64, 64)."""
    h, sep, w = text.lower().partition("x")
    try:
        size = (int(h), int(w))
    except ValueError:
        size = (0, 0)
    if not sep or min(size) < 1:
        raise InputError(where, f"--resize {text!r} must be 'first' or HxW like 64x64")
    return size


def resize_chw(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a uint8 3×H×W image to ``size`` (H, W) with OpenCV's area interpolation."""
    import cv2

    if image.shape[1:] == size:
        return image
    hwc = np.ascontiguousarray(image.transpose(1, 2, 0))
    resized = cv2.resize(hwc, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(resized.transpose(2, 0, 1))
