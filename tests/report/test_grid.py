"""Sample grids: layout, size limits, and a PNG that decodes to exactly the grid."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from gan_eval.report.grid import MAX_GRID_IMAGES, PADDING, grid_size, image_grid, preview_entry


def test_grid_places_each_image_row_major_with_a_white_gutter():
    images = np.stack([np.full((3, 4, 5), 10 * (i + 1), np.uint8) for i in range(5)])
    grid = image_grid(images)  # 5 images → 3 columns, 2 rows
    assert grid.shape == (2 * (4 + PADDING) + PADDING, 3 * (5 + PADDING) + PADDING, 3)
    for index in range(5):
        r, c = divmod(index, 3)
        top, left = PADDING + r * (4 + PADDING), PADDING + c * (5 + PADDING)
        assert (grid[top : top + 4, left : left + 5] == 10 * (index + 1)).all()
    assert (grid[:PADDING] == 255).all() and (grid[:, :PADDING] == 255).all()
    last = grid[PADDING + 4 + PADDING :, PADDING + 2 * (5 + PADDING) :]  # the empty sixth cell
    assert (last == 255).all()


def test_grid_keeps_rgb_channel_order():
    image = np.zeros((1, 3, 2, 2), np.uint8)
    image[0, 0] = 200  # red
    grid = image_grid(image)
    assert tuple(grid[PADDING, PADDING]) == (200, 0, 0)


def test_grid_rejects_other_layouts():
    with pytest.raises(ValueError, match="N×3×H×W"):
        image_grid(np.zeros((2, 8, 8, 3), np.uint8))


@pytest.mark.parametrize(("count", "size", "expected"), [(100, 28, MAX_GRID_IMAGES), (10, 28, 10), (64, 64, 16), (64, 299, 4), (2, 299, 2)])
def test_grid_size_limits_pixels_but_keeps_a_few_images(count, size, expected):
    assert grid_size(count, size, size) == expected


def test_preview_entry_png_decodes_to_the_grid():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (70, 3, 28, 28), dtype=np.uint8)
    entry = preview_entry(images)
    assert entry["count"] == 64 and (entry["height"], entry["width"]) == (28, 28)
    decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(entry["png"]))).convert("RGB"))
    assert np.array_equal(decoded, image_grid(images[:64]))
    assert preview_entry(None) is None and preview_entry(images[:0]) is None
