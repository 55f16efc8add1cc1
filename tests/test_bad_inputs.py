"""The bad-input matrix for image folders: each row is a clear error naming the file and the
problem (exit status 1, no traceback), or with --skip-bad a skip counted in the record. Decoding
of the odd-but-valid formats (16-bit, palette, CMYK, RGBA, gray) is checked against the pixels."""

from __future__ import annotations

import json
import os
import struct
import zlib

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from gan_eval.cli import main
from gan_eval_plugins.sources.folder import decode


def _score(*args):
    result = CliRunner().invoke(main, ["score", *map(str, args), "-m", "laplacian", "-q"])
    assert "Traceback" not in result.output
    return result


def _good(folder, n=3, size=(8, 8)):
    folder.mkdir(exist_ok=True)
    for i in range(n):
        Image.fromarray(np.full((*size, 3), 40 * i, np.uint8)).save(folder / f"good{i}.png")
    return folder


def _bomb_png(path, width=200_000, height=200_000):
    """A tiny PNG whose header claims a huge image (a decompression bomb)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def _truncated_png(path):
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:200])


BAD_FILES = {
    "zero-byte": (lambda p: p.write_bytes(b""), "empty file"),
    "truncated": (_truncated_png, "cannot decode"),
    "corrupt": (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(300)), "cannot decode"),
    "not-an-image": (lambda p: p.write_text("just some text, not pixels\n" * 20), "cannot decode"),
    "bomb": (_bomb_png, "refused"),
    "unreadable": (lambda p: p.symlink_to(p.parent / "missing-target.png"), "cannot read"),
}


@pytest.mark.parametrize("row", sorted(BAD_FILES))
def test_bad_file_is_a_clear_error_naming_it(tmp_path, row):
    folder = _good(tmp_path / "imgs")
    make, problem = BAD_FILES[row]
    bad = folder / "bad.png"
    make(bad)
    result = _score(folder)
    assert result.exit_code == 1
    assert str(bad) in result.output and problem in result.output


@pytest.mark.parametrize("row", sorted(BAD_FILES))
def test_bad_file_is_skipped_and_counted_with_skip_bad(tmp_path, row):
    folder = _good(tmp_path / "imgs")
    make, problem = BAD_FILES[row]
    make(folder / "bad.png")
    out = tmp_path / "run.json"
    result = _score(folder, "--skip-bad", "--out", out)
    assert result.exit_code == 0, result.output
    generated = json.loads(out.read_text())["inputs"]["generated"]
    assert generated["count"] == 3
    assert [s["item"] for s in generated["skipped"]] == [str(folder / "bad.png")]
    assert problem in generated["skipped"][0]["reason"]


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    result = _score(tmp_path / "empty")
    assert result.exit_code == 1 and "contains no image files" in result.output and "empty" in result.output


def test_folder_with_no_images(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    result = _score(folder)
    assert result.exit_code == 1 and "contains no image files" in result.output


def test_only_bad_files_with_skip_bad_is_an_error_not_a_number(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"")
    result = _score(folder, "--skip-bad")
    assert result.exit_code == 1 and "could be decoded" in result.output


def test_mixed_sizes_error_names_the_file_and_resize_fixes_it(tmp_path):
    folder = _good(tmp_path / "imgs")
    Image.fromarray(np.zeros((12, 10, 3), np.uint8)).save(folder / "odd.png")
    result = _score(folder)
    assert result.exit_code == 1 and "odd.png" in result.output and "12×10" in result.output and "--resize" in result.output
    assert _score(folder, "--resize", "first").exit_code == 0
    assert _score(folder, "--resize", "16x16").exit_code == 0
    assert "must be 'first' or HxW" in _score(folder, "--resize", "big").output


def test_mixed_channel_counts_are_fine(tmp_path):
    folder = _good(tmp_path / "imgs")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / "gray.png")
    Image.fromarray(np.zeros((8, 8, 4), np.uint8)).save(folder / "rgba.png")
    assert _score(folder).exit_code == 0


def test_symlink_loop_is_walked_once(tmp_path):
    folder = _good(tmp_path / "imgs")
    (folder / "loop").symlink_to(folder, target_is_directory=True)
    out = tmp_path / "run.json"
    assert _score(folder, "--out", out).exit_code == 0
    assert json.loads(out.read_text())["inputs"]["generated"]["count"] == 3


def test_sixteen_bit_is_scaled_to_eight_bit(tmp_path):
    values = np.array([[0, 257, 65535, 32896]], np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    np.testing.assert_array_equal(decode(path)[0], [[0, 1, 255, 128]])


def test_palette_cmyk_rgba_gray_decode_to_the_right_rgb(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 255, (6, 5, 3), dtype=np.uint8)
    Image.fromarray(rgb).quantize(16).save(tmp_path / "palette.png")
    expected_palette = np.asarray(Image.open(tmp_path / "palette.png").convert("RGB")).transpose(2, 0, 1)
    np.testing.assert_array_equal(decode(tmp_path / "palette.png"), expected_palette)

    rgba = np.dstack([rgb, np.full((6, 5), 7, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    np.testing.assert_array_equal(decode(tmp_path / "rgba.png"), rgb.transpose(2, 0, 1))

    gray = rgb[:, :, 0]
    Image.fromarray(gray).save(tmp_path / "gray.png")
    np.testing.assert_array_equal(decode(tmp_path / "gray.png"), np.stack([gray] * 3))

    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.tif")
    np.testing.assert_array_equal(decode(tmp_path / "cmyk.tif"), np.asarray(Image.open(tmp_path / "cmyk.tif").convert("RGB")).transpose(2, 0, 1))


GENERATORS = '''
import torch
def wide(z):      # tanh forgotten: values far outside [-1, 1]
    return torch.full((z.shape[0], 3, 8, 8), 3.0)
def inf(z):
    return torch.full((z.shape[0], 3, 8, 8), float("inf"))
def short(z):     # one image too few
    return torch.zeros(z.shape[0] - 1, 3, 8, 8)
'''


@pytest.mark.parametrize("name, problem", [("wide", "outside the stated range"), ("inf", "NaN or Inf"), ("short", "images for")])
def test_generator_outputs_that_would_give_wrong_numbers_are_errors(tmp_path, monkeypatch, name, problem):
    (tmp_path / "bad_generators.py").write_text(GENERATORS)
    monkeypatch.syspath_prepend(str(tmp_path))
    result = _score(f"callable:bad_generators:{name}", "--num", "10", "--source-option", "latent=16")
    assert result.exit_code == 1
    assert f"bad_generators:{name}" in result.output and problem in result.output
