"""folder: every listed format and pixel mode decodes to the right uint8 RGB; bad files are named."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from gan_eval.errors import InputError
from gan_eval.source import SourceOptions
from gan_eval_plugins.sources.folder import EXTENSIONS, FolderSource

RNG = np.random.default_rng(7)
RGB = RNG.integers(0, 256, (9, 11, 3), dtype=np.uint8)  # odd sizes catch transposed axes
GRAY = RNG.integers(0, 256, (9, 11), dtype=np.uint8)


def read_all(folder, **options) -> tuple[np.ndarray, list]:
    source = FolderSource(str(folder), SourceOptions(**options))
    batch = source.read(0, len(source))
    return batch.images, batch.skipped


def only_image(folder, **options) -> np.ndarray:
    images, skipped = read_all(folder, **options)
    assert len(images) == 1 and not skipped
    return images[0]


def as_chw(hwc: np.ndarray) -> np.ndarray:
    return hwc.transpose(2, 0, 1)


def gray_as_chw(hw: np.ndarray) -> np.ndarray:
    return np.repeat(hw[None], 3, axis=0)


LOSSLESS = {
    "png": {},
    "bmp": {},
    "tif": {},
    "tiff": {"compression": "tiff_lzw"},
    "webp": {"lossless": True},
}


@pytest.mark.parametrize("ext", sorted(LOSSLESS))
def test_lossless_formats_decode_exactly(ext, tmp_path):
    Image.fromarray(RGB).save(tmp_path / f"a.{ext}", **LOSSLESS[ext])
    image = only_image(tmp_path)
    assert image.dtype == np.uint8 and np.array_equal(image, as_chw(RGB))


@pytest.mark.parametrize("ext", ["jpg", "jpeg", "JPG"])
def test_jpeg_decodes_like_pillow(ext, tmp_path):
    path = tmp_path / f"a.{ext}"
    smooth = np.dstack([*np.meshgrid(np.arange(0, 99, 9), np.arange(0, 180, 20)), np.full((9, 11), 60)]).astype(np.uint8)
    Image.fromarray(smooth).save(path, format="JPEG", quality=95)
    expected = np.asarray(Image.open(path).convert("RGB"))
    assert np.array_equal(only_image(tmp_path), as_chw(expected))
    assert np.abs(expected.astype(int) - smooth).max() < 12  # really the same picture


def test_every_listed_extension_is_covered_by_a_test():
    assert EXTENSIONS == {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".npy"}


@pytest.mark.parametrize("array", [RGB, as_chw(RGB), GRAY, GRAY[..., None], RGB.astype(np.float32) / 255], ids=["HWC", "CHW", "HW", "HW1", "float01"])
def test_npy_files_in_a_folder(array, tmp_path):
    np.save(tmp_path / "a.npy", array)
    expected = gray_as_chw(GRAY) if array.ndim == 2 or array.shape[-1] == 1 else as_chw(RGB)
    assert np.array_equal(only_image(tmp_path), expected)


def test_grayscale_is_repeated_to_rgb(tmp_path):
    Image.fromarray(GRAY, mode="L").save(tmp_path / "a.png")
    assert np.array_equal(only_image(tmp_path), gray_as_chw(GRAY))


def test_gray_with_alpha_keeps_the_gray(tmp_path):
    Image.fromarray(np.dstack([GRAY, np.full_like(GRAY, 3)]), mode="LA").save(tmp_path / "a.png")
    assert np.array_equal(only_image(tmp_path), gray_as_chw(GRAY))


def test_rgba_drops_alpha(tmp_path):
    rgba = np.dstack([RGB, RNG.integers(0, 256, RGB.shape[:2], dtype=np.uint8)])
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    assert np.array_equal(only_image(tmp_path), as_chw(RGB))


def test_sixteen_bit_is_scaled_to_eight_bit(tmp_path):
    sixteen = GRAY.astype(np.uint16) * 257  # what an 8-bit value becomes in 16 bits
    sixteen[0, 0], sixteen[0, 1] = 65535, 128  # 128/257 = 0.498 rounds to 0
    Image.fromarray(sixteen).save(tmp_path / "a.png")
    assert Image.open(tmp_path / "a.png").mode.startswith("I")
    expected = GRAY.copy()
    expected[0, 0], expected[0, 1] = 255, 0
    assert np.array_equal(only_image(tmp_path), gray_as_chw(expected))


def test_palette_images_are_expanded(tmp_path):
    palette_image = Image.fromarray(RGB).quantize(colors=16)
    palette_image.save(tmp_path / "a.png")
    expected = np.asarray(palette_image.convert("RGB"))
    assert np.array_equal(only_image(tmp_path), as_chw(expected))


def test_palette_with_transparency_and_bilevel(tmp_path):
    palette_image = Image.fromarray(RGB).quantize(colors=8)
    palette_image.info["transparency"] = 0
    palette_image.save(tmp_path / "a.png", transparency=0)
    Image.fromarray(GRAY > 127).save(tmp_path / "b.png")  # mode "1"
    images, _ = read_all(tmp_path)
    assert np.array_equal(images[0], as_chw(np.asarray(palette_image.convert("RGB"))))
    assert np.array_equal(images[1], gray_as_chw(np.where(GRAY > 127, 255, 0).astype(np.uint8)))


def write_pngs(folder, sizes):
    folder.mkdir(exist_ok=True)
    for i, (h, w) in enumerate(sizes):
        Image.fromarray(RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(folder / f"{i:02d}.png")


def test_files_are_found_recursively_in_sorted_relative_path_order(tmp_path):
    for name, value in [("b/2.png", 2), ("a.png", 0), ("b/10.png", 1), ("c/d/e.PNG", 3)]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((4, 4), value, np.uint8)).save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    images, _ = read_all(tmp_path)
    assert images[:, 0, 0, 0].tolist() == [0, 1, 2, 3]  # "b/10.png" < "b/2.png": plain string order


def test_mixed_sizes_fail_naming_the_file(tmp_path):
    write_pngs(tmp_path, [(8, 8), (8, 8), (8, 9)])
    with pytest.raises(InputError, match=r"02\.png: image is 8×9 but the first image is 8×8; pass --resize"):
        read_all(tmp_path)


def test_resize_first_and_to_a_fixed_size(tmp_path):
    write_pngs(tmp_path, [(8, 8), (16, 12), (5, 5)])
    images, _ = read_all(tmp_path, resize="first")
    assert images.shape == (3, 3, 8, 8)
    images, _ = read_all(tmp_path, resize="16x12")
    assert images.shape == (3, 3, 16, 12)
    original = np.asarray(Image.open(tmp_path / "01.png")).transpose(2, 0, 1)
    assert np.array_equal(images[1], original)  # already the right size: untouched
    with pytest.raises(InputError, match="must be 'first' or HxW"):
        read_all(tmp_path, resize="big")


def make_bad_files(folder):
    write_pngs(folder, [(6, 6)] * 3)
    (folder / "00b_empty.png").write_bytes(b"")
    (folder / "01b_garbage.jpg").write_bytes(b"this is not a jpeg at all" * 10)
    good = (folder / "01.png").read_bytes()
    (folder / "02b_truncated.png").write_bytes(good[: len(good) // 2])
    (folder / "03b_bad.npy").write_bytes(b"\x93NUMPY garbage")


@pytest.mark.parametrize(
    "name, problem",
    [
        ("00b_empty.png", "empty file"),
        ("01b_garbage.jpg", "cannot decode"),
        ("02b_truncated.png", "cannot decode"),
        ("03b_bad.npy", "not a plain .npy array"),
    ],
)
def test_bad_files_fail_naming_the_file(name, problem, tmp_path):
    make_bad_files(tmp_path)
    for other in tmp_path.glob("0?b_*"):
        if other.name != name:
            other.unlink()
    with pytest.raises(InputError, match=problem) as caught:
        read_all(tmp_path)
    assert caught.value.where == str(tmp_path / name)


def test_skip_bad_skips_and_reports_each_bad_file(tmp_path):
    make_bad_files(tmp_path)
    images, skipped = read_all(tmp_path, skip_bad=True)
    assert len(images) == 3
    assert [s.item for s in skipped] == [str(tmp_path / n) for n in ("00b_empty.png", "01b_garbage.jpg", "02b_truncated.png", "03b_bad.npy")]
    assert all(s.reason for s in skipped)


def test_skip_bad_with_a_bad_first_file_takes_the_size_from_the_first_good_one(tmp_path):
    write_pngs(tmp_path, [(6, 7)])
    (tmp_path / "0.png").write_bytes(b"")
    assert read_all(tmp_path, skip_bad=True)[0].shape == (1, 3, 6, 7)


def test_limit_takes_the_first_files(tmp_path):
    write_pngs(tmp_path, [(4, 4)] * 5)
    source = FolderSource(str(tmp_path), SourceOptions(limit=2))
    assert len(source) == 2 and source.info()["count"] == 2
    assert np.array_equal(source.read(0, 2).images[1], np.asarray(Image.open(tmp_path / "01.png")).transpose(2, 0, 1))


def test_info_describes_the_images(tmp_path):
    Image.fromarray(GRAY).save(tmp_path / "a.png")
    info = FolderSource(str(tmp_path), SourceOptions()).info()
    assert {k: info[k] for k in ("kind", "count", "height", "width", "channels")} == {"kind": "folder", "count": 1, "height": 9, "width": 11, "channels": 1}


def test_fingerprint_follows_content_names_and_resize(tmp_path):
    write_pngs(tmp_path, [(4, 4)] * 2)

    def fingerprint(**options):
        return FolderSource(str(tmp_path), SourceOptions(**options)).fingerprint()

    first = fingerprint()
    assert fingerprint() == first
    assert fingerprint(resize="2x2") != first
    (tmp_path / "01.png").rename(tmp_path / "02.png")
    assert fingerprint() != first
    (tmp_path / "02.png").rename(tmp_path / "01.png")
    assert fingerprint() == first
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "01.png")
    assert fingerprint() != first


def test_missing_and_empty_folders_are_named(tmp_path):
    with pytest.raises(InputError, match="no such folder"):
        FolderSource(str(tmp_path / "nope"), SourceOptions())
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(InputError, match="no image files") as caught:
        FolderSource(str(tmp_path), SourceOptions())
    assert caught.value.where == str(tmp_path)
