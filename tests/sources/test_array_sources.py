"""npy:/npz: every layout, dtype and value range gives the same uint8 RGB images; bad arrays are named."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gan_eval.errors import InputError
from gan_eval.images import float_to_uint8
from gan_eval.source import SourceOptions
from gan_eval_plugins.sources.arrays import NpySource, NpzSource

RNG = np.random.default_rng(11)
NHWC = RNG.integers(0, 256, (5, 7, 9, 3), dtype=np.uint8)
EXPECTED = NHWC.transpose(0, 3, 1, 2)  # what every source yields: N×3×H×W


def read_npy(tmp_path, array, **options):
    np.save(tmp_path / "x.npy", array)
    source = NpySource(str(tmp_path / "x.npy"), SourceOptions(**options))
    return source, source.read(0, len(source)).images


def read_npz(tmp_path, arrays, **options):
    np.savez(tmp_path / "x.npz", **arrays)
    source = NpzSource(str(tmp_path / "x.npz"), SourceOptions(**options))
    return source, source.read(0, len(source)).images


@pytest.mark.parametrize(
    "layout, array",
    [
        ("NHWC", NHWC),
        ("NCHW", NHWC.transpose(0, 3, 1, 2)),
        ("NHWC", np.dstack([NHWC.reshape(5 * 7, 9, 3), np.zeros((35, 9, 1), np.uint8)]).reshape(5, 7, 9, 4)),
    ],
)
def test_colour_layouts(layout, array, tmp_path):
    source, images = read_npy(tmp_path, array)
    assert source.layout == layout and np.array_equal(images, EXPECTED)
    assert source.info()["channels"] == 3 and (source.info()["height"], source.info()["width"]) == (7, 9)


@pytest.mark.parametrize("array", [NHWC[..., 0], NHWC[..., :1], NHWC[..., :1].transpose(0, 3, 1, 2)], ids=["NHW", "NHW1", "N1HW"])
def test_gray_layouts(array, tmp_path):
    source, images = read_npy(tmp_path, array)
    assert np.array_equal(images, np.repeat(NHWC[:, None, :, :, 0], 3, axis=1))
    assert source.info()["channels"] == 1


def test_float_ranges_are_inferred_and_recorded(tmp_path):
    unit = NHWC.astype(np.float32) / 255
    source, images = read_npy(tmp_path, unit)
    assert source.value_range == "0,1" and source.info()["value_range"] == "0,1"
    assert np.array_equal(images, EXPECTED)
    source, images = read_npy(tmp_path, unit * 2 - 1)
    assert source.value_range == "-1,1" and np.array_equal(images, EXPECTED)


def test_stated_range_overrides_inference(tmp_path):
    values = np.full((2, 5, 5, 3), 0.5, np.float64)  # inferred as [0, 1]; stated as [-1, 1]
    assert read_npy(tmp_path, values)[1].max() == 128
    source, images = read_npy(tmp_path, values, value_range="-1,1")
    assert source.value_range == "-1,1" and images.max() == 191  # rint(0.75·255)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 255), min_size=1, max_size=50))
def test_float_conversion_inverts_division_by_255(values):
    pixels = np.array(values, np.uint8)
    for value_range, floats in (("0,1", pixels / 255.0), ("-1,1", pixels / 127.5 - 1)):
        assert np.array_equal(float_to_uint8(floats, value_range, "x"), pixels)


@pytest.mark.parametrize(
    "values, problem",
    [
        (np.full((2, 5, 5, 3), 3.0), r"neither \[0, 1\] nor \[-1, 1\]"),
        (np.full((2, 5, 5, 3), np.nan), "NaN or Inf"),
    ],
)
def test_bad_float_values_are_named(values, problem, tmp_path):
    with pytest.raises(InputError, match=problem) as caught:
        read_npy(tmp_path, values)
    assert str(tmp_path / "x.npy") in str(caught.value)


def test_values_outside_the_stated_range_are_refused(tmp_path):
    with pytest.raises(InputError, match=r"outside the stated range \[0, 1\]"):
        read_npy(tmp_path, np.full((2, 5, 5, 3), -0.5), value_range="0,1")


def test_uint16_and_bool_stacks(tmp_path):
    assert np.array_equal(read_npy(tmp_path, NHWC.astype(np.uint16) * 257)[1], EXPECTED)
    mask = NHWC[..., 0] > 127
    assert np.array_equal(read_npy(tmp_path, mask)[1][:, 0], np.where(mask, 255, 0))


@pytest.mark.parametrize(
    "shape, problem",
    [
        ((2, 3, 5, 3), "ambiguous: pass --source-option layout=NHWC or layout=NCHW"),
        ((2, 5, 5, 5), "not an image stack"),
        ((10, 784), "not an image stack"),
        ((1, 2, 3, 4, 3), "not an image stack"),
        ((0, 4, 4), "holds no images"),
    ],
)
def test_ambiguous_and_invalid_shapes(shape, problem, tmp_path):
    with pytest.raises(InputError, match=problem):
        read_npy(tmp_path, np.zeros(shape, np.uint8))


def test_stated_layout_resolves_ambiguity(tmp_path):
    ambiguous = RNG.integers(0, 256, (2, 3, 5, 3), dtype=np.uint8)
    _, images = read_npy(tmp_path, ambiguous, extra={"layout": "nchw"})
    assert np.array_equal(images, ambiguous)
    _, images = read_npy(tmp_path, ambiguous, extra={"layout": "NHWC"})
    assert np.array_equal(images, ambiguous.transpose(0, 3, 1, 2))
    with pytest.raises(InputError, match="layout=NHW does not fit"):
        read_npy(tmp_path, ambiguous, extra={"layout": "NHW"})


def test_unsupported_dtype_and_pickles_are_refused(tmp_path):
    with pytest.raises(InputError, match="unsupported dtype int32"):
        read_npy(tmp_path, NHWC.astype(np.int32))
    np.save(tmp_path / "x.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="pickled"):
        NpySource(str(tmp_path / "x.npy"), SourceOptions())


def test_npz_key_selection(tmp_path):
    _, images = read_npz(tmp_path, {"whatever": NHWC})
    assert np.array_equal(images, EXPECTED)  # a single array needs no key
    _, images = read_npz(tmp_path, {"labels": np.arange(5), "images": NHWC})
    assert np.array_equal(images, EXPECTED)  # a preferred key
    _, images = read_npz(tmp_path, {"a": NHWC, "b": NHWC[::-1]}, extra={"key": "b"})
    assert np.array_equal(images, EXPECTED[::-1])
    with pytest.raises(InputError, match="--source-option key=NAME .*a, b"):
        read_npz(tmp_path, {"a": NHWC, "b": NHWC})
    with pytest.raises(InputError, match="key=NAME"):
        read_npz(tmp_path, {"a": NHWC}, extra={"key": "c"})


def test_npz_in_each_layout_and_range(tmp_path):
    for array in (NHWC, NHWC.transpose(0, 3, 1, 2), NHWC / 255.0, NHWC / 127.5 - 1):
        assert np.array_equal(read_npz(tmp_path, {"images": array})[1], EXPECTED)


def test_corrupt_files_are_named(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(InputError, match="cannot read as .npz") as caught:
        NpzSource(str(tmp_path / "x.npz"), SourceOptions())
    assert caught.value.where == str(tmp_path / "x.npz")
    with pytest.raises(InputError, match="no such file"):
        NpySource(str(tmp_path / "missing.npy"), SourceOptions())


def test_limit_and_batches(tmp_path):
    source, images = read_npy(tmp_path, NHWC, limit=3)
    assert len(source) == 3 and np.array_equal(images, EXPECTED[:3])
    assert np.array_equal(source.read(1, 3).images, EXPECTED[1:3])


def test_fingerprint_follows_content_and_interpretation(tmp_path):
    source, _ = read_npy(tmp_path, NHWC)
    first = source.fingerprint()
    assert read_npy(tmp_path, NHWC)[0].fingerprint() == first
    assert read_npy(tmp_path, NHWC, limit=2)[0].fingerprint() != first
    changed = NHWC.copy()
    changed[0, 0, 0, 0] ^= 1
    assert read_npy(tmp_path, changed)[0].fingerprint() != first
    half = np.full((2, 5, 5, 3), 0.5)
    assert read_npy(tmp_path, half)[0].fingerprint() != read_npy(tmp_path, half, value_range="-1,1")[0].fingerprint()
