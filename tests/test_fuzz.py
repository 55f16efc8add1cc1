"""Property tests: hostile bytes and arrays give our clear errors, never a crash or a wrong image."""

from __future__ import annotations

import io

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from gan_eval.errors import InputError
from gan_eval.images import float_to_uint8, infer_value_range, to_rgb_uint8
from gan_eval_plugins.sources.datasets import read_idx
from gan_eval_plugins.sources.folder import decode

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.arange(48, dtype=np.uint8).reshape(4, 4, 3)).save(buffer, format="PNG")
    return buffer.getvalue()


VALID_PNG = _png_bytes()


@SETTINGS
@given(data=st.binary(max_size=2048), suffix=st.sampled_from([".png", ".jpg", ".bmp", ".webp", ".tif", ".npy"]))
def test_random_bytes_decode_or_raise_input_error(tmp_path, data, suffix):
    path = tmp_path / f"x{suffix}"
    path.write_bytes(data)
    try:
        image = decode(path)
    except InputError as exc:
        assert str(path) in str(exc)
    else:
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[0] == 3


@SETTINGS
@given(cut=st.integers(min_value=0, max_value=len(VALID_PNG) - 1), flip=st.integers(min_value=0, max_value=255))
def test_truncated_or_corrupted_png_raises_input_error_naming_the_file(tmp_path, cut, flip):
    data = bytearray(VALID_PNG[:cut])
    if data:
        data[len(data) // 2] ^= flip
    path = tmp_path / "broken.png"
    path.write_bytes(bytes(data))
    try:
        image = decode(path)
    except InputError as exc:
        assert "broken.png" in str(exc)
    else:  # a flip in an ancillary chunk can leave a valid image: then it must be the right shape
        assert image.shape == (3, 4, 4)


@SETTINGS
@given(
    array=hnp.arrays(
        dtype=st.sampled_from([np.uint8, np.uint16, np.bool_]), shape=st.tuples(st.integers(1, 9), st.integers(1, 9), st.sampled_from([1, 2, 3, 4]))
    )
)
def test_to_rgb_uint8_shapes_and_values(array):
    rgb = to_rgb_uint8(array, "array")
    assert rgb.shape == (3, array.shape[0], array.shape[1]) and rgb.dtype == np.uint8
    if array.dtype == np.uint8 and array.shape[2] >= 3:
        np.testing.assert_array_equal(rgb, array[:, :, :3].transpose(2, 0, 1))


@SETTINGS
@given(array=hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)), elements=st.floats(allow_nan=True, allow_infinity=True, width=32)))
def test_float_conversion_never_returns_garbage(array):
    try:
        value_range = infer_value_range(array, "arr")
        out = float_to_uint8(array, value_range, "arr")
    except InputError as exc:
        assert "arr" in str(exc)
    else:
        assert np.isfinite(array).all()
        lo = 0.0 if value_range == "0,1" else -1.0
        expected = np.rint((array - lo) / (1.0 - lo) * 255)
        np.testing.assert_array_equal(out, expected.astype(np.uint8))


@SETTINGS
@given(data=st.binary(max_size=512))
def test_random_idx_bytes_raise_input_error(tmp_path, data):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(data)
    try:
        array = read_idx(path)
    except InputError as exc:
        assert str(path) in str(exc)
    else:
        assert array.size * array.dtype.itemsize == len(data) - 4 - 4 * array.ndim
