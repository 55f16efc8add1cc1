"""Sample grids: the first images of a pass as one small PNG, embedded in records and reports."""

from __future__ import annotations

import base64
import io
import math

import numpy as np

#: A grid holds at most this many pixels (so a record stays small whatever the image size).
MAX_GRID_PIXELS = 256 * 256
MAX_GRID_IMAGES = 64
PADDING = 2


def grid_size(count: int, height: int, width: int) -> int:
    """How many of ``count`` images go into a grid: up to 64, fewer for large images (at least 1)."""
    fits = MAX_GRID_PIXELS // max(1, height * width)
    return max(1, min(count, MAX_GRID_IMAGES, max(4, fits)))


def image_grid(images: np.ndarray, columns: int | None = None) -> np.ndarray:
    """uint8 N×3×H×W → one uint8 H'×W'×3 image: a near-square grid with a white 2-pixel gutter."""
    if images.ndim != 4 or images.shape[1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 N×3×H×W images, got {images.dtype} {images.shape}")
    n, _, h, w = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    canvas = np.full((rows * (h + PADDING) + PADDING, columns * (w + PADDING) + PADDING, 3), 255, np.uint8)
    for index, image in enumerate(images):
        r, c = divmod(index, columns)
        top, left = PADDING + r * (h + PADDING), PADDING + c * (w + PADDING)
        canvas[top : top + h, left : left + w] = image.transpose(1, 2, 0)
    return canvas


def png_base64(image: np.ndarray) -> str:
    """An H×W×3 uint8 image as base64 PNG text (for a ``data:image/png;base64,`` URL)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def preview_entry(images: np.ndarray | None) -> dict | None:
    """The record's ``previews[input]`` entry for a pass's kept images, or None without images."""
    if images is None or len(images) == 0:
        return None
    n = grid_size(len(images), images.shape[2], images.shape[3])
    return {"count": n, "height": int(images.shape[2]), "width": int(images.shape[3]), "png": png_base64(image_grid(images[:n]))}
