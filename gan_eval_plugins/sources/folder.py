"""``folder:PATH``: every image file below a folder, recursively, in sorted relative-path order."""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import gan_eval
from gan_eval.errors import InputError
from gan_eval.hashing import update_from_file
from gan_eval.images import parse_size, resize_chw, to_rgb_uint8
from gan_eval.source import Batch, Skip, Source, SourceOptions

EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".npy"})
#: Refuse images larger than this before decoding them (decompression bombs).
MAX_PIXELS = 64 * 1024 * 1024


def list_images(root: Path) -> list[Path]:
    """Image files below ``root`` sorted by relative path; symlinked folders followed once (no loops)."""
    found: list[Path] = []
    seen_dirs: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen_dirs:
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        dirnames.sort()
        found.extend(Path(dirpath) / f for f in filenames if Path(f).suffix.lower() in EXTENSIONS)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def decode(path: Path) -> np.ndarray:
    """Decode one file to uint8 3×H×W RGB, or raise InputError naming the file and the problem."""
    if path.suffix.lower() == ".npy":
        return _decode_npy(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    if size == 0:
        raise InputError(path, "empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise InputError(path, f"image is {image.width}×{image.height} pixels, over the {MAX_PIXELS:,}-pixel limit (refused before decoding)")
                image.load()
                return to_rgb_uint8(_pil_to_array(image), str(path))
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(path, f"refused as a decompression bomb: {exc}") from None
    except PermissionError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(path, f"cannot decode as an image ({type(exc).__name__}: {exc}); the file may be truncated or not an image") from None


def _pil_to_array(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return np.asarray(image, dtype=np.uint16)
    if mode == "I":  # 32-bit integer PNGs are usually 16-bit data
        array = np.asarray(image)
        if array.min() < 0 or array.max() > 65535:
            raise ValueError(f"32-bit integer image with values outside 0..65535")
        return array.astype(np.uint16)
    if mode in ("1", "L", "RGB", "RGBA", "LA"):
        return np.asarray(image.convert("L") if mode == "1" else image)
    if mode == "P":
        return np.asarray(image.convert("RGBA" if "transparency" in image.info else "RGB"))
    return np.asarray(image.convert("RGB"))  # CMYK, YCbCr, HSV, F ...


def _decode_npy(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise InputError(path, f"not a plain .npy array (corrupt, or holding pickled objects, which are refused): {exc}") from None
    except (OSError, EOFError) as exc:
        raise InputError(path, f"cannot read .npy: {exc}") from None
    if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[2] not in (1, 3, 4):
        array = array.transpose(1, 2, 0)  # C×H×W → H×W×C
    if array.dtype.kind == "f":
        from gan_eval.images import float_to_uint8, infer_value_range

        array = float_to_uint8(array, infer_value_range(array, str(path)), str(path))
    return to_rgb_uint8(array, str(path))


class FolderSource(Source):
    kind = "folder"
    summary = "image files below a folder (png/jpg/bmp/webp/tif/npy), recursive, sorted"
    priority = 10

    def __init__(self, target: str, options: SourceOptions):
        super().__init__(target, options)
        self.root = Path(target)
        if not self.root.is_dir():
            raise InputError(target, "no such folder")
        files = list_images(self.root)
        if not files:
            raise InputError(target, f"folder contains no image files (looked for {', '.join(sorted(EXTENSIONS))}, recursively)")
        self.files = files[: options.limit] if options.limit else files
        self._size: tuple[int, int] | None = None
        self._first: Path | None = None
        if options.resize and options.resize != "first":
            self._size = parse_size(options.resize, target)
        self._fingerprint: str | None = None

    @classmethod
    def detect(cls, target: str) -> bool:
        return Path(target).is_dir()

    def __len__(self) -> int:
        return len(self.files)

    def _target_size(self) -> tuple[int, int]:
        if self._size is None or self._first is None:  # the first decodable image fixes the size
            for path in self.files:
                try:
                    shape = decode(path).shape[1:]
                    self._size, self._first = self._size or shape, path
                    break
                except InputError:
                    if not self.options.skip_bad:
                        raise
            else:
                raise InputError(self.target, "no file in the folder could be decoded")
        return self._size

    def read(self, start: int, stop: int) -> Batch:
        size = self._target_size()
        images, skipped = [], []
        for path in self.files[start:stop]:
            try:
                image = decode(path)
                if image.shape[1:] != size:
                    if not self.options.resize:
                        raise InputError(path, f"image is {image.shape[1]}×{image.shape[2]} but the first image is {size[0]}×{size[1]}; pass --resize first or --resize HxW to resize")
                    image = resize_chw(image, size)
            except InputError as exc:
                if not self.options.skip_bad:
                    raise
                skipped.append(Skip(str(path), exc.problem))
                continue
            images.append(image)
        array = np.stack(images) if images else np.zeros((0, 3, *size), np.uint8)
        return Batch(array, skipped)

    def fingerprint(self) -> str:
        """SHA-256 over each file's relative path and bytes, plus the options that change pixels."""
        if self._fingerprint is None:
            digest = hashlib.sha256(f"folder;resize={self.options.resize};skip_bad={self.options.skip_bad}\n".encode())
            for path in self.files:
                digest.update(path.relative_to(self.root).as_posix().encode() + b"\0")
                try:
                    update_from_file(digest, path)
                except OSError as exc:
                    digest.update(f"unreadable:{exc.errno}".encode())
                digest.update(b"\0")
            self._fingerprint = digest.hexdigest()
        return self._fingerprint

    def info(self) -> dict[str, Any]:
        height, width = self._target_size()
        return {
            "kind": self.kind, "spec": self.spec, "count": len(self), "height": height, "width": width,
            "channels": _native_channels(self._first),
        }


def _native_channels(path: Path) -> int:
    if path.suffix.lower() == ".npy":
        array = np.load(path, mmap_mode="r", allow_pickle=False)
        return 1 if array.ndim == 2 or 1 in (array.shape[0], array.shape[-1]) else 3
    with Image.open(path) as image:  # already decoded once by _target_size, so it opens
        return 1 if image.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F") else 3


@gan_eval.hookimpl
def register_sources():
    return [FolderSource]
