"""Conversions every source needs: any decoded image or array to uint8 RGB, channels first."""

from __future__ import annotations

import numpy as np

from .errors import InputError


def to_rgb_uint8(image: np.ndarray, where: str) -> np.ndarray:
    """One image (H×W, H×W×1, H×W×3 or H×W×4; uint8, uint16 or bool) as uint8 3×H×W RGB.

    Gray is repeated to three channels, alpha is dropped, 16-bit is scaled to 8-bit by rounding
    ``x / 257`` (so 65535 → 255 and the 8-bit value v stored as 257·v round-trips exactly).
    """
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 2, 3, 4):
        raise InputError(where, f"unsupported image shape {image.shape} (expected H×W, H×W×1, H×W×3 or H×W×4)")
    image = to_uint8(image, where)
    channels = image.shape[2]
    if channels in (1, 2):  # gray or gray+alpha
        image = np.repeat(image[:, :, :1], 3, axis=2)
    elif channels == 4:
        image = image[:, :, :3]
    return np.ascontiguousarray(image.transpose(2, 0, 1))


def to_uint8(array: np.ndarray, where: str) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if array.dtype == np.uint16:
        return np.rint(array.astype(np.float64) / 257.0).astype(np.uint8)
    raise InputError(where, f"unsupported pixel type {array.dtype} (expected uint8, uint16 or bool)")


def float_to_uint8(array: np.ndarray, value_range: str, where: str) -> np.ndarray:
    """Floats in ``"0,1"`` or ``"-1,1"`` to uint8 by ``rint(x·255)`` after mapping to [0, 1]."""
    if not np.isfinite(array).all():
        raise InputError(where, "contains NaN or Inf values")
    lo, hi = (0.0, 1.0) if value_range == "0,1" else (-1.0, 1.0)
    tolerance = 1e-4
    if array.size and (array.min() < lo - tolerance or array.max() > hi + tolerance):
        raise InputError(where, f"float values span [{array.min():.4g}, {array.max():.4g}], outside the stated range [{lo:g}, {hi:g}]")
    unit = (array.astype(np.float64) - lo) / (hi - lo)
    return np.rint(np.clip(unit, 0.0, 1.0) * 255.0).astype(np.uint8)


def infer_value_range(array: np.ndarray, where: str) -> str:
    """``"0,1"`` or ``"-1,1"`` from the data, or an error asking the user to say which."""
    if not np.isfinite(array).all():
        raise InputError(where, "contains NaN or Inf values")
    lo, hi = float(array.min()), float(array.max())
    if lo >= 0.0 and hi <= 1.0:
        return "0,1"
    if lo >= -1.0 and hi <= 1.0:
        return "-1,1"
    raise InputError(where, f"float values span [{lo:.4g}, {hi:.4g}]: neither [0, 1] nor [-1, 1]; rescale them or save uint8")


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
