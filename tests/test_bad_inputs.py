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
from gan_eval.errors import InputError
from gan_eval_plugins.sources.folder import decode
from gan_eval.cli.output import EXIT_INPUT


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
    assert result.exit_code == EXIT_INPUT
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
    assert result.exit_code == EXIT_INPUT and "contains no image files" in result.output and "empty" in result.output


def test_folder_with_no_images(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    result = _score(folder)
    assert result.exit_code == EXIT_INPUT and "contains no image files" in result.output


def test_only_bad_files_with_skip_bad_is_an_error_not_a_number(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"")
    result = _score(folder, "--skip-bad")
    assert result.exit_code == EXIT_INPUT and "could be decoded" in result.output


def test_mixed_sizes_error_names_the_file_and_resize_fixes_it(tmp_path):
    folder = _good(tmp_path / "imgs")
    Image.fromarray(np.zeros((12, 10, 3), np.uint8)).save(folder / "odd.png")
    result = _score(folder)
    assert result.exit_code == EXIT_INPUT and "odd.png" in result.output and "12×10" in result.output and "--resize" in result.output
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


GENERATORS = """
import torch
def wide(z):      # tanh forgotten: values far outside [-1, 1]
    return torch.full((z.shape[0], 3, 8, 8), 3.0)
def inf(z):
    return torch.full((z.shape[0], 3, 8, 8), float("inf"))
def short(z):     # one image too few
    return torch.zeros(z.shape[0] - 1, 3, 8, 8)
"""


@pytest.mark.parametrize("name, problem", [("wide", "outside the stated range"), ("inf", "NaN or Inf"), ("short", "images for")])
def test_generator_outputs_that_would_give_wrong_numbers_are_errors(tmp_path, monkeypatch, name, problem):
    (tmp_path / "bad_generators.py").write_text(GENERATORS)
    monkeypatch.syspath_prepend(str(tmp_path))
    result = _score(f"callable:bad_generators:{name}", "--num", "10", "--source-option", "latent=16")
    assert result.exit_code == EXIT_INPUT
    assert f"bad_generators:{name}" in result.output and problem in result.output


# -- issue 18: files that are not regular files, memory, names, pickles ---------------------------


@pytest.fixture
def no_hang():
    """Fail (instead of hanging the suite) if a blocking read of a FIFO or device ever comes back:
    SIGALRM interrupts the blocked system call and the handler's exception ends the test."""
    import signal

    def fail(signum, frame):
        raise TimeoutError("blocked reading a non-regular file")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _fifo(path):
    os.mkfifo(path)


def _dev_zero(path):
    path.symlink_to("/dev/zero")


@pytest.mark.parametrize("make, kind", [(_fifo, "a FIFO (named pipe)"), (_dev_zero, "a character device")], ids=["fifo", "dev-zero"])
def test_non_regular_files_are_refused_never_read(tmp_path, no_hang, make, kind):
    folder = _good(tmp_path / "imgs")
    make(folder / "bad.png")
    result = _score(folder)
    assert result.exit_code == EXIT_INPUT
    assert f"{folder / 'bad.png'}: is {kind}, not a regular file" in result.output
    out = tmp_path / "run.json"
    result = _score(folder, "--skip-bad", "--out", out)
    assert result.exit_code == 0, result.output
    skipped = json.loads(out.read_text())["inputs"]["generated"]["skipped"]
    assert [s["item"] for s in skipped] == [str(folder / "bad.png")] and "not a regular file" in skipped[0]["reason"]


def test_an_npy_source_that_is_a_fifo_is_refused(tmp_path, no_hang):
    os.mkfifo(tmp_path / "x.npy")
    result = _score(f"npy:{tmp_path / 'x.npy'}")
    assert result.exit_code == EXIT_INPUT and "is a FIFO (named pipe), not a regular file" in result.output


def test_a_one_kilobyte_npy_declaring_93_gib_is_a_clear_error(tmp_path):
    folder = _good(tmp_path / "imgs")
    buffer = __import__("io").BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "|u1", "fortran_order": False, "shape": (100_000, 100_000, 10)})
    (folder / "huge.npy").write_bytes(buffer.getvalue().ljust(1024, b"\0"))
    result = _score(folder)
    assert result.exit_code == EXIT_INPUT and "huge.npy" in result.output and "93.1 GiB" in result.output
    assert not isinstance(result.exception, MemoryError)


def test_an_image_at_the_pixel_limit_in_a_big_batch_is_refused_with_a_message(tmp_path):
    """8192×8192 gray PNGs of ~65 kB each: 64 Mi pixels, exactly at the limit; a batch of them would be
    killed by the kernel without a word. The message says what to do."""
    from test_decoding import big_png

    folder = tmp_path / "big"
    folder.mkdir()
    for i in range(80):
        big_png(folder / f"{i:02d}.png", 8192) if i == 0 else os.link(folder / "00.png", folder / f"{i:02d}.png")
    assert (folder / "00.png").stat().st_size < 100_000
    result = _score(folder, "--batch-size", "64")
    assert result.exit_code == EXIT_INPUT
    assert "decoding images 0..63 as one batch would take about" in result.output and "--batch-size" in result.output


def test_non_utf8_file_names_work_and_errors_name_them_printably(tmp_path):
    folder = _good(tmp_path / "imgs")
    name = os.fsdecode(b"\xff\xfe-latin1-\xe9.png")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "tmp.png")
    os.rename(folder / "tmp.png", os.path.join(os.fsencode(folder), b"\xff\xfe-latin1-\xe9.png"))
    out = tmp_path / "run.json"
    result = _score(folder, "--out", out)
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["inputs"]["generated"]["count"] == 4
    (folder / name).write_bytes(b"not an image")
    result = _score(folder)
    assert result.exit_code == EXIT_INPUT and "\\xff\\xfe-latin1-\\xe9.png: cannot decode" in result.output


def test_a_folder_named_like_an_image_and_a_symlink_loop_file(tmp_path):
    folder = _good(tmp_path / "imgs")
    (folder / "dir.png").mkdir()  # a folder is walked into, never decoded
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "dir.png" / "inner.png")
    (folder / "loop.png").symlink_to(folder / "loop.png")
    result = _score(folder)
    assert result.exit_code == EXIT_INPUT and "loop.png: cannot read: symbolic link loop" in result.output
    out = tmp_path / "run.json"
    assert _score(folder, "--skip-bad", "--out", out).exit_code == 0
    generated = json.loads(out.read_text())["inputs"]["generated"]
    assert generated["count"] == 4 and [s["item"] for s in generated["skipped"]] == [str(folder / "loop.png")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_a_permission_denied_file_is_named(tmp_path):
    folder = _good(tmp_path / "imgs")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "secret.png")
    (folder / "secret.png").chmod(0)
    result = _score(folder)
    assert result.exit_code == EXIT_INPUT and "secret.png: cannot read: Permission denied" in result.output


class _RunsAShellCommand:
    """Unpickling this would run ``os.system`` (never happens: the weights-only loader refuses it)."""

    def __reduce__(self):
        return (os.system, ("true",))


def test_a_checkpoint_whose_pickle_calls_a_function_gets_the_documented_message(tmp_path):
    """torch words this refusal differently from an unknown class ('module posix is blocked'):
    the message used to be 'not a file written by torch.save, or damaged'."""
    import torch

    from trainers.checkpoint import load_torch

    torch.save({"format": "gan-eval-generator/1", "record": _RunsAShellCommand(), "generator": {}}, tmp_path / "evil.pt")
    with pytest.raises(InputError, match="evil.pt: refused: loading it would need pickled code"):
        load_torch(tmp_path / "evil.pt")


def test_the_pickled_code_message_depends_on_the_exception_type_not_torchs_wording(tmp_path, monkeypatch):
    import pickle

    import torch

    from trainers.checkpoint import load_torch

    torch.save({"weights": torch.zeros(1)}, tmp_path / "a.pt")  # a real zip archive

    def refuse(*args, **kwargs):
        raise pickle.UnpicklingError("wording of some future torch release")

    monkeypatch.setattr(torch, "load", refuse)
    with pytest.raises(InputError, match="a.pt: refused: loading it would need pickled code"):
        load_torch(tmp_path / "a.pt")
