"""One decoding policy for every format (issue 18): checksums verified, every bit depth and float
mode converted as documented, --range and layout honoured for .npy files in folders exactly as for a
stacked .npy, memory budgeted from the header before decoding."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFile

from gan_eval.errors import InputError
from gan_eval.images import uint16_to_uint8
from gan_eval.source import SourceOptions
from gan_eval_plugins.sources import decoding
from gan_eval_plugins.sources.folder import FolderSource, decode

RNG = np.random.default_rng(18)


def read_all(folder, **options):
    source = FolderSource(str(folder), SourceOptions(**options))
    return source.read(0, len(source))


def png_bytes(array) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def chunks(data: bytes):
    """(offset, kind, length) of each PNG chunk."""
    position = 8
    while position < len(data):
        length = struct.unpack(">I", data[position : position + 4])[0]
        yield position, data[position + 4 : position + 8], length
        position += 12 + length


# -- checksums -------------------------------------------------------------------------------------


def test_a_png_whose_idat_crc_fails_is_refused(tmp_path):
    """Pillow decodes this without complaint (it does not check IDAT CRCs): a wrong image, scored."""
    data = bytearray(png_bytes(RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8)))
    offset, _, length = next(c for c in chunks(bytes(data)) if c[1] == b"IDAT")
    data[offset + 8 + length + 3] ^= 0xFF  # the CRC's last byte
    (tmp_path / "a.png").write_bytes(bytes(data))
    Image.open(tmp_path / "a.png").load()  # what Pillow alone does: no error
    with pytest.raises(InputError, match="chunk 'IDAT' at byte 33 fails its CRC check"):
        decode(tmp_path / "a.png")


def test_a_png_whose_zlib_checksum_fails_is_refused(tmp_path):
    """The chunk CRC is valid (recomputed) but the zlib stream's Adler-32 does not match its data:
    damaged data must not be scored (Pillow may stop reading before the checksum)."""
    data = png_bytes(RNG.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    offset, _, length = next(c for c in chunks(data) if c[1] == b"IDAT")
    payload = bytearray(data[offset + 8 : offset + 8 + length])
    payload[-1] ^= 0x01  # the last byte of the Adler-32 checksum
    crc = struct.pack(">I", zlib.crc32(b"IDAT" + bytes(payload)))
    (tmp_path / "a.png").write_bytes(data[: offset + 8] + bytes(payload) + crc + data[offset + 12 + length :])
    with pytest.raises(InputError, match="fails its zlib check"):
        decode(tmp_path / "a.png")


def test_truncated_images_stay_errors_even_if_another_library_allows_them(tmp_path, monkeypatch):
    image = RNG.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG")
    (tmp_path / "a.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(InputError, match="truncated"):
        decode(tmp_path / "a.jpg")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored for the code that set it


# -- bit depths and float modes --------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["png", "tif"])
def test_sixteen_bit_colour_is_rounded_not_cut_to_the_high_byte(tmp_path, ext):
    """Pillow opens 16-bit RGB as 8-bit RGB by keeping the high byte (v >> 8): 0x80FF → 128, not 129."""
    rgb16 = RNG.integers(0, 65536, (5, 7, 3), dtype=np.uint16)
    rgb16[0, 0] = [0x80FF, 65535, 128]  # round(33023/257) = 128.5→? 33023/257 = 128.49 → 128; v>>8 = 128
    rgb16[0, 1] = [0x8180, 0x7F80, 257 * 3 + 129]  # 33152/257 = 129.0 → 129 but 33152 >> 8 = 129; 32640/257=127.0, >>8=127; 900/257=3.5→4, >>8=3
    cv2.imwrite(str(tmp_path / f"a.{ext}"), rgb16[:, :, ::-1])
    expected = np.rint(rgb16 / 257).astype(np.uint8).transpose(2, 0, 1)
    assert not np.array_equal(expected, (rgb16 >> 8).astype(np.uint8).transpose(2, 0, 1))  # the two rules differ here
    np.testing.assert_array_equal(decode(tmp_path / f"a.{ext}"), expected)


def test_uint16_rounding_is_exact_for_every_value():
    values = np.arange(65536, dtype=np.uint16)
    np.testing.assert_array_equal(uint16_to_uint8(values), np.rint(values / 257.0).astype(np.uint8))


def test_float_tiffs_follow_the_range_policy(tmp_path):
    """Mode F used to become a black image (Pillow's convert clips floats to 0..255)."""
    unit = RNG.random((6, 5)).astype(np.float32)
    Image.fromarray(unit, mode="F").save(tmp_path / "a.tif")
    expected = np.repeat(np.rint(unit.astype(np.float64) * 255).astype(np.uint8)[None], 3, axis=0)
    np.testing.assert_array_equal(read_all(tmp_path).images[0], expected)  # inferred [0, 1]
    np.testing.assert_array_equal(
        read_all(tmp_path, value_range="-1,1").images[0], np.repeat(np.rint((unit.astype(np.float64) + 1) / 2 * 255).astype(np.uint8)[None], 3, axis=0)
    )
    Image.fromarray(unit * 300, mode="F").save(tmp_path / "a.tif")
    with pytest.raises(InputError, match="neither \\[0, 1\\] nor \\[-1, 1\\]"):
        read_all(tmp_path)


def test_float_rgb_tiff_that_pillow_cannot_open_is_read_through_opencv(tmp_path):
    rgb = RNG.random((4, 6, 3)).astype(np.float32)
    cv2.imwrite(str(tmp_path / "a.tif"), rgb[:, :, ::-1])
    np.testing.assert_array_equal(decode(tmp_path / "a.tif", "0,1"), np.rint(rgb.astype(np.float64) * 255).astype(np.uint8).transpose(2, 0, 1))


def test_thirty_two_bit_integer_tiffs_are_refused(tmp_path):
    Image.fromarray(RNG.integers(0, 255, (4, 4)).astype(np.int32)).save(tmp_path / "a.tif")
    with pytest.raises(InputError, match="32-bit integer pixels have no agreed range"):
        decode(tmp_path / "a.tif")


# -- .npy files in a folder: the stacked rules -----------------------------------------------------


def test_npy_in_a_folder_honours_range(tmp_path):
    """[-1, 1] samples that happen to be non-negative: --range=-1,1 must map 0 to 128, not 0."""
    half = RNG.random((6, 5, 3)).astype(np.float32)  # all in [0, 1]
    np.save(tmp_path / "a.npy", half)
    stated = read_all(tmp_path, value_range="-1,1").images[0]
    np.testing.assert_array_equal(stated, np.rint((half.astype(np.float64) + 1) / 2 * 255).astype(np.uint8).transpose(2, 0, 1))
    assert FolderSource(str(tmp_path), SourceOptions(value_range="-1,1")).info()["value_range"] == "-1,1"


def test_npy_range_is_inferred_once_for_the_folder(tmp_path):
    """The first float file fixes the range (recorded); a later file outside it is an error, never a
    second, different mapping."""
    np.save(tmp_path / "a.npy", RNG.random((4, 4)).astype(np.float32))
    np.save(tmp_path / "b.npy", -RNG.random((4, 4)).astype(np.float32))
    source = FolderSource(str(tmp_path), SourceOptions())
    assert source.info()["value_range"] == "0,1"
    with pytest.raises(InputError, match="b.npy: float values span .* outside the stated range \\[0, 1\\]"):
        source.read(0, 2)


def test_npy_in_a_folder_refuses_an_ambiguous_layout_like_a_stack(tmp_path):
    image = RNG.integers(0, 256, (3, 8, 3), dtype=np.uint8)  # C×H×W or H×W×C?
    np.save(tmp_path / "a.npy", image)
    with pytest.raises(InputError, match="ambiguous: pass --source-option layout="):
        read_all(tmp_path)
    np.testing.assert_array_equal(read_all(tmp_path, extra={"layout": "CHW"}).images[0], image)
    np.testing.assert_array_equal(read_all(tmp_path, extra={"layout": "HWC"}).images[0], image.transpose(2, 0, 1))


def test_a_small_npy_declaring_a_huge_array_is_a_clear_error(tmp_path):
    header = {"descr": "|u1", "fortran_order": False, "shape": (200_000, 200_000, 3)}  # 112 GiB
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    (tmp_path / "a.npy").write_bytes(buffer.getvalue() + b"\0" * 900)
    with pytest.raises(InputError, match=r"a.npy: not a plain .npy array: its header declares shape \(200000, 200000, 3\).*111.8 GiB"):
        read_all(tmp_path)


# -- memory: budgeted from the header before decoding --------------------------------------------


def big_png(path, side):
    """A tiny file declaring side×side gray pixels (all zero: compresses to almost nothing)."""
    raw = zlib.compress(b"".join(b"\0" + bytes(side) for _ in range(side)), 9)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)) + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def test_an_image_over_the_decoding_budget_is_refused_before_decoding(tmp_path, monkeypatch):
    big_png(tmp_path / "a.png", 2048)
    monkeypatch.setenv(decoding.BUDGET_ENV, "16M")
    with pytest.raises(InputError, match=r"a.png: image is 2048×2048: decoding it would take about 32.0 MiB, over the 16.0 MiB decoding budget"):
        read_all(tmp_path)


def test_a_batch_over_the_budget_is_refused_with_what_to_do(tmp_path, monkeypatch):
    for i in range(6):
        big_png(tmp_path / f"{i}.png", 1024)
    monkeypatch.setenv(decoding.BUDGET_ENV, "24M")
    source = FolderSource(str(tmp_path), SourceOptions())
    assert source.read(0, 2).images.shape == (2, 3, 1024, 1024)  # one image takes ~8 MiB, two fit
    with pytest.raises(InputError, match="decoding images 0..5 as one batch would take about .* pass a smaller --batch-size or --resize"):
        source.read(0, 6)
    assert FolderSource(str(tmp_path), SourceOptions(resize="64x64")).read(0, 6).images.shape == (6, 3, 64, 64)


def test_budget_setting_is_validated(monkeypatch):
    monkeypatch.setenv(decoding.BUDGET_ENV, "lots")
    with pytest.raises(InputError, match="GAN_EVAL_DECODE_BUDGET"):
        decoding.decode_budget()
    monkeypatch.setenv(decoding.BUDGET_ENV, "1.5G")
    assert decoding.decode_budget() == 3 << 29


# -- frames, tiny images --------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["png", "webp", "tif"])
def test_animated_and_multi_page_files_are_refused(tmp_path, ext):
    frames = [Image.fromarray(RNG.integers(0, 256, (4, 4, 3), dtype=np.uint8)) for _ in range(3)]
    frames[0].save(tmp_path / f"a.{ext}", save_all=True, append_images=frames[1:], **({"lossless": True} if ext == "webp" else {}))
    with pytest.raises(InputError, match="holds 3 frames"):
        decode(tmp_path / f"a.{ext}")


def test_one_pixel_images(tmp_path):
    Image.fromarray(np.array([[[1, 2, 3]]], np.uint8)).save(tmp_path / "a.png")
    np.save(tmp_path / "b.npy", np.array([[7]], np.uint8))
    np.testing.assert_array_equal(read_all(tmp_path).images[:, :, 0, 0], [[1, 2, 3], [7, 7, 7]])
