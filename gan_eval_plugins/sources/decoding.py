"""Decode one image file's bytes (already read, already hashed) to uint8 3×H×W RGB: one policy for
every format, documented in docs/sources.md (*Decoding policy*).

- Checksums are verified: every PNG chunk's CRC and the zlib (Adler-32) check of the image data,
  which Pillow does not check; truncated files are errors (``LOAD_TRUNCATED_IMAGES`` forced off).
- Every bit depth and float mode is converted by :mod:`gan_eval.images` (16-bit → ``round(v/257)``,
  floats through ``--range``); 16-bit colour PNG/TIFF, which Pillow cuts to their high byte, are
  decoded with OpenCV instead.
- Memory is budgeted from the header before any pixel is decoded (:func:`probe`).
- Animated and multi-page files are refused (which frame is meant is ambiguous). EXIF orientation
  and ICC profiles are ignored, like Pillow, torchvision and the FID reference implementations.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import warnings
import zlib
from dataclasses import dataclass
from typing import Iterator

import numpy as np
from PIL import Image, ImageFile

from gan_eval.errors import InputError
from gan_eval.images import layout_of, to_hwc, to_rgb_uint8
from gan_eval.reading import format_bytes

#: Refuse images larger than this before decoding them (decompression bombs).
MAX_PIXELS = 64 * 1024 * 1024
#: Bytes one batch of decoding may take (file bytes held, decoded images, the largest decode's
#: temporaries); ``GAN_EVAL_DECODE_BUDGET`` (bytes, or with a K/M/G suffix) overrides it.
DEFAULT_DECODE_BUDGET = 4 << 30
BUDGET_ENV = "GAN_EVAL_DECODE_BUDGET"

#: Approximate peak bytes per pixel while decoding, by Pillow mode (Pillow's own buffer, our
#: H×W×C copy, the 3×H×W result and conversion temporaries). An overestimate is harmless.
_BYTES_PER_PIXEL = {"1": 8, "L": 8, "P": 12, "LA": 14, "I;16": 20, "RGB": 14, "RGBA": 14, "I": 32, "F": 32}
_DEEP_BYTES_PER_PIXEL = 48  # 16-bit or float colour through OpenCV: uint16/float32 ×4, uint32 temporaries
_PIL_FAILURES = (OSError, SyntaxError, ValueError, EOFError, zlib.error, Image.DecompressionBombError, Image.DecompressionBombWarning)


def decode_budget() -> int:
    text = os.environ.get(BUDGET_ENV, "").strip()
    if not text:
        return DEFAULT_DECODE_BUDGET
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(text[-1].upper(), 1)
    try:
        value = int(float(text[:-1] if scale > 1 else text) * scale)
    except ValueError:
        value = 0
    if value <= 0:
        raise InputError(BUDGET_ENV, f"{text!r} is not a positive number of bytes (e.g. 4G)")
    return value


@dataclass(frozen=True)
class Probe:
    """What the header says, before decoding: the image size and the memory decoding it takes."""

    height: int
    width: int
    peak_bytes: int  # decoding this one image, at most (approximately)


def is_npy(name: str) -> bool:
    return name.lower().endswith(".npy")


def probe(data: bytes, where: str, layout: str | None = None) -> Probe:
    """Read only the header of ``data``: size and decode cost, or InputError for what decoding
    would refuse anyway (bombs, animations, bad .npy headers)."""
    if not data:
        raise InputError(where, "empty file (0 bytes)")
    if is_npy(where):
        shape, dtype, _, _ = _npy_header(data, where)
        height, width = _npy_hw(shape, layout, where)
        return Probe(height, width, len(data) + height * width * (3 + 8 * max(1, dtype.itemsize)))
    with _strict_pillow(), _pillow_errors(where):
        image = _open_image(data, where)
        if image is None:  # a TIFF Pillow cannot identify: OpenCV reads it, header via OpenCV too
            decoded = _cv2_decode(data, where)
            return Probe(decoded.shape[0], decoded.shape[1], decoded.nbytes * 4)
        with image:
            per_pixel = _DEEP_BYTES_PER_PIXEL if _is_deep(image) else _BYTES_PER_PIXEL.get(_base_mode(image.mode), 20)
            return Probe(image.height, image.width, image.width * image.height * per_pixel)


def check_budget(probe_: Probe, where: str, budget: int | None = None) -> None:
    budget = decode_budget() if budget is None else budget
    if probe_.peak_bytes > budget:
        raise InputError(
            where,
            f"image is {probe_.width}×{probe_.height}: decoding it would take about {format_bytes(probe_.peak_bytes)}, "
            f"over the {format_bytes(budget)} decoding budget (refused before decoding; raise {BUDGET_ENV} if you have the memory)",
        )


def decode(data: bytes, where: str, value_range: str | None = None, layout: str | None = None) -> np.ndarray:
    """``data`` (a whole file, named ``where``) as uint8 3×H×W RGB, or InputError naming the problem."""
    if is_npy(where):
        return npy_to_rgb(data, where, value_range, layout)
    if not data:
        raise InputError(where, "empty file (0 bytes)")
    with _strict_pillow(), _pillow_errors(where):
        image = _open_image(data, where)
        if image is None:
            return to_rgb_uint8(_cv2_decode(data, where), where, value_range)
        with image:
            if image.format == "PNG":
                verify_png(data, where)
            if _is_deep(image):
                array = _cv2_decode(data, where)
            else:
                image.load()
                array = _pil_to_array(image, where)
        return to_rgb_uint8(array, where, value_range)


def npy_to_rgb(data: bytes, where: str, value_range: str | None = None, layout: str | None = None) -> np.ndarray:
    """One image stored as a ``.npy`` (H×W, H×W×C or C×H×W), read with the stacked ``npy:`` rules."""
    shape, dtype, fortran, offset = _npy_header(data, where)
    stack_layout = layout_of((1, *shape), layout, where) if len(shape) in (2, 3) else None
    if stack_layout is None:
        raise InputError(where, f"array of shape {shape} is not one image (expected H×W, H×W×C or C×H×W with C in 1, 3, 4)")
    array = np.ndarray(shape, dtype=dtype, buffer=data, offset=offset, order="F" if fortran else "C")
    return to_rgb_uint8(to_hwc(array[None], stack_layout)[0], where, value_range)


def npy_dtype(data_or_header: bytes, where: str) -> np.dtype:
    return _npy_header(data_or_header, where, check_size=False)[1]


def verify_png(data: bytes, where: str) -> None:
    """Check every chunk's CRC-32 and the image data's zlib stream (its Adler-32 included)."""
    view = memoryview(data)
    position, inflater, ended = 8, zlib.decompressobj(), False
    while position + 8 <= len(data):
        length = int.from_bytes(view[position : position + 4], "big")
        kind = bytes(view[position + 4 : position + 8])
        end = position + 12 + length
        if end > len(data):
            raise InputError(where, f"cannot decode: PNG chunk {kind.decode('latin-1')!r} at byte {position} runs past the end of the file (truncated)")
        if zlib.crc32(view[position + 4 : end - 4]) != int.from_bytes(view[end - 4 : end], "big"):
            raise InputError(where, f"cannot decode: PNG chunk {kind.decode('latin-1')!r} at byte {position} fails its CRC check (the file is damaged)")
        if kind == b"IDAT":
            _inflate_and_discard(inflater, view[position + 8 : end - 4], where)
        elif kind == b"IEND":
            ended = True
            break
        position = end
    if not ended:
        raise InputError(where, "cannot decode: PNG has no IEND chunk (truncated)")
    if not inflater.eof:
        raise InputError(where, "cannot decode: PNG image data (zlib stream) is incomplete (truncated or damaged)")


def _inflate_and_discard(inflater: "zlib._Decompress", chunk: memoryview, where: str) -> None:
    if inflater.eof and len(chunk):
        raise InputError(where, "cannot decode: PNG holds image data after the end of its zlib stream (damaged)")
    pending: bytes | memoryview = chunk
    try:
        while pending:
            inflater.decompress(pending, 1 << 20)
            pending = inflater.unconsumed_tail
    except zlib.error as exc:
        raise InputError(where, f"cannot decode: PNG image data fails its zlib check ({exc}; the file is damaged)") from None


def _npy_header(data: bytes, where: str, check_size: bool = True) -> tuple[tuple[int, ...], np.dtype, bool, int]:
    """(shape, dtype, fortran order, data offset) from a ``.npy``'s header, checked against its size."""
    if not data:
        raise InputError(where, "empty file (0 bytes)")
    handle = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
        else:  # 3.0 (UTF-8 field names): numpy has no public header reader for it
            from numpy.lib import _format_impl

            shape, fortran, dtype = _format_impl._read_array_header(handle, version)
    except (ValueError, SyntaxError, EOFError, TypeError, KeyError, AttributeError, ImportError) as exc:
        raise InputError(where, f"not a plain .npy array (corrupt header: {exc})") from None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise InputError(where, f"not a plain .npy array (dtype {dtype} holds pickled objects or records, which are refused)")
    offset = handle.tell()
    if check_size:
        declared = math.prod(shape) * dtype.itemsize
        if declared != len(data) - offset:
            raise InputError(
                where,
                f"not a plain .npy array: its header declares shape {shape} of {dtype} ({format_bytes(declared)}) "
                f"but the file holds {format_bytes(len(data) - offset)} of data (truncated or damaged)",
            )
    return tuple(int(n) for n in shape), dtype, bool(fortran), offset


def _npy_hw(shape: tuple[int, ...], layout: str | None, where: str) -> tuple[int, int]:
    if len(shape) not in (2, 3):
        raise InputError(where, f"array of shape {shape} is not one image (expected H×W, H×W×C or C×H×W with C in 1, 3, 4)")
    stack_layout = layout_of((1, *shape), layout, where)
    return (shape[1], shape[2]) if stack_layout == "NCHW" else (shape[0], shape[1])


@contextlib.contextmanager
def _strict_pillow() -> Iterator[None]:
    """Truncated files are errors and bombs raise, whatever another library set process-wide."""
    truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated


@contextlib.contextmanager
def _pillow_errors(where: str) -> Iterator[None]:
    try:
        yield
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(where, f"refused as a decompression bomb: {exc}") from None
    except _PIL_FAILURES as exc:
        detail = "not a known image format" if isinstance(exc, Image.UnidentifiedImageError) else f"{type(exc).__name__}: {exc}"
        raise InputError(where, f"cannot decode as an image ({detail}); the file may be truncated or not an image") from None
    except MemoryError:
        raise InputError(where, "ran out of memory decoding this image") from None


def _open_image(data: bytes, where: str) -> Image.Image | None:
    """Pillow's lazy open (header only), checked for size and frames; None for a TIFF only OpenCV reads."""
    try:
        image = Image.open(io.BytesIO(data))
    except Image.UnidentifiedImageError:
        if data[:4] in (b"II*\0", b"MM\0*"):
            return None
        raise
    if image.width * image.height > MAX_PIXELS:
        image.close()
        raise InputError(where, f"image is {image.width}×{image.height} pixels, over the {MAX_PIXELS:,}-pixel limit (refused before decoding)")
    if image.width < 1 or image.height < 1:
        image.close()
        raise InputError(where, f"image is {image.width}×{image.height}: no pixels")
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        image.close()
        raise InputError(where, f"holds {frames} frames (animated or multi-page): which one to score is ambiguous; save the frame you mean as its own file")
    return image


def _base_mode(mode: str) -> str:
    return "I;16" if mode.startswith("I;16") else mode


def _rawmode(image: Image.Image) -> str:
    for tile in image.tile:
        args = tile[3] if isinstance(tile, tuple) else tile.args
        return args if isinstance(args, str) else str(args[0]) if args else ""
    return ""


def _is_deep(image: Image.Image) -> bool:
    """16-bit colour (or gray + alpha) that Pillow would cut to 8 bits by keeping the high byte."""
    return image.mode in ("RGB", "RGBA", "RGBX", "LA") and ";16" in _rawmode(image)


def _cv2_decode(data: bytes, where: str) -> np.ndarray:
    """16-bit or float images through OpenCV (libpng / libtiff), colour as RGB(A)."""
    import cv2

    array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if array is None:
        raise InputError(where, "cannot decode as an image (OpenCV could not read it either); the file may be truncated or not an image")
    if array.size > 3 * MAX_PIXELS:
        raise InputError(where, f"image is {array.shape[1]}×{array.shape[0]} pixels, over the {MAX_PIXELS:,}-pixel limit")
    if array.ndim == 3 and array.shape[2] >= 3:
        array = np.concatenate([array[:, :, 2::-1], array[:, :, 3:]], axis=2)  # BGR(A) → RGB(A)
    return array


def _pil_to_array(image: Image.Image, where: str) -> np.ndarray:
    mode = image.mode
    if mode.startswith("I;16"):
        if mode not in ("I;16", "I;16B", "I;16L", "I;16N"):
            raise InputError(where, f"unsupported pixel mode {mode} (signed 16-bit has no agreed range)")
        return np.asarray(image).astype(np.uint16)
    if mode == "I":
        if image.format != "PNG":  # 32-bit integer samples (TIFF): no agreed range
            raise InputError(where, "32-bit integer pixels have no agreed range: save 8- or 16-bit, or floats (with --range)")
        array = np.asarray(image)  # an older Pillow's 16-bit PNG gray: values 0..65535
        if array.size and (array.min() < 0 or array.max() > 65535):
            raise InputError(where, "16-bit PNG with values outside 0..65535")
        return array.astype(np.uint16)
    if mode == "F":
        return np.asarray(image, dtype=np.float32)  # the range policy applies (gan_eval.images)
    if mode == "1":
        return np.asarray(image.convert("L"))
    if mode in ("L", "LA", "RGB", "RGBA"):
        return np.asarray(image)
    if mode in ("P", "PA"):
        return np.asarray(image.convert("RGBA" if mode == "PA" or "transparency" in image.info else "RGB"))
    return np.asarray(image.convert("RGB"))  # CMYK (naive, no ICC), YCbCr, LAB, HSV, RGBX ...
