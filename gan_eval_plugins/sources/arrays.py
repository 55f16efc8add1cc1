"""``npy:FILE`` and ``npz:FILE``: image stacks saved with numpy.

Layouts N×H×W, N×H×W×C and N×C×H×W (C in 1, 3, 4); uint8, uint16, bool, or floats in [0, 1] or
[-1, 1] (``--range`` states which; otherwise it is inferred and recorded). ``.npy`` files are
memory-mapped, so a large file is read batch by batch. Pickled arrays are refused.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

import gan_eval
from gan_eval.errors import InputError
from gan_eval.hashing import update_from_file
from gan_eval.images import float_to_uint8, infer_value_range, to_rgb_uint8, to_uint8
from gan_eval.source import Batch, Source, SourceOptions

#: npz keys tried in order when ``--source-option key=`` is not given and the file has several arrays.
PREFERRED_KEYS = ("images", "x", "samples", "arr_0")


def layout_of(shape: tuple[int, ...], stated: str | None, where: str) -> str:
    """``NHW``, ``NHWC`` or ``NCHW`` for an image stack of this shape."""
    if stated:
        stated = stated.upper()
        expected_ndim = {"NHW": 3, "NHWC": 4, "NCHW": 4}.get(stated)
        if expected_ndim is None or len(shape) != expected_ndim:
            raise InputError(where, f"layout={stated} does not fit an array of shape {shape} (use NHW, NHWC or NCHW)")
        return stated
    if len(shape) == 3:
        return "NHW"
    if len(shape) == 4:
        channels_last, channels_first = shape[3] in (1, 3, 4), shape[1] in (1, 3, 4)
        if channels_last and not channels_first:
            return "NHWC"
        if channels_first and not channels_last:
            return "NCHW"
        if channels_last and channels_first:
            raise InputError(where, f"shape {shape} is ambiguous: pass --source-option layout=NHWC or layout=NCHW")
    raise InputError(where, f"array of shape {shape} is not an image stack (expected N×H×W, N×H×W×C or N×C×H×W with C in 1, 3, 4)")


class _ArraySource(Source):
    priority = 5

    def __init__(self, target: str, options: SourceOptions):
        super().__init__(target, options)
        self.path = Path(target)
        if not self.path.is_file():
            raise InputError(target, "no such file")
        self.array = self._load()
        if self.array.size == 0 or self.array.shape[0] == 0:
            raise InputError(target, f"array of shape {self.array.shape} holds no images")
        self.layout = layout_of(self.array.shape, options.extra.get("layout"), target)
        self.value_range = None
        if self.array.dtype.kind == "f":
            self.value_range = options.value_range or infer_value_range(np.asarray(self.array), target)
        elif self.array.dtype.kind not in "ub":
            raise InputError(target, f"unsupported dtype {self.array.dtype} (expected uint8, uint16, bool or float)")
        self.count = min(len(self.array), options.limit or len(self.array))
        self._fingerprint: str | None = None

    def _load(self) -> np.ndarray:
        raise NotImplementedError

    def __len__(self) -> int:
        return self.count

    def read(self, start: int, stop: int) -> Batch:
        chunk = np.asarray(self.array[start:stop])
        if self.layout == "NCHW":
            chunk = chunk.transpose(0, 2, 3, 1)
        where = f"{self.target}[{start}:{stop}]"
        if self.value_range:
            chunk = float_to_uint8(chunk, self.value_range, where)
        else:
            chunk = to_uint8(chunk, where)
        images = [to_rgb_uint8(image, where) for image in chunk]
        return Batch(np.stack(images))

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            digest = hashlib.sha256(f"{self.kind};key={self.options.extra.get('key')};range={self.value_range};layout={self.layout};count={self.count}\n".encode())
            update_from_file(digest, self.path)
            self._fingerprint = digest.hexdigest()
        return self._fingerprint

    def info(self) -> dict[str, Any]:
        if self.layout == "NHW":
            height, width, channels = self.array.shape[1], self.array.shape[2], 1
        elif self.layout == "NHWC":
            height, width, channels = self.array.shape[1], self.array.shape[2], self.array.shape[3]
        else:
            height, width, channels = self.array.shape[2], self.array.shape[3], self.array.shape[1]
        return {
            "kind": self.kind, "spec": self.spec, "count": self.count, "height": int(height), "width": int(width),
            "channels": 1 if channels == 1 else 3, "layout": self.layout, "dtype": str(self.array.dtype),
            "value_range": self.value_range,
        }


class NpySource(_ArraySource):
    kind = "npy"
    summary = "an image stack in a .npy file (memory-mapped)"

    @classmethod
    def detect(cls, target: str) -> bool:
        return target.lower().endswith(".npy") and Path(target).is_file()

    def _load(self) -> np.ndarray:
        try:
            return np.load(self.path, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:
            raise InputError(self.path, f"not a plain .npy array (corrupt, or holding pickled objects, which are refused): {exc}") from None
        except (OSError, EOFError) as exc:
            raise InputError(self.path, f"cannot read as .npy: {exc}") from None


class NpzSource(_ArraySource):
    kind = "npz"
    summary = "an image stack in a .npz file (--source-option key=NAME picks the array)"

    @classmethod
    def detect(cls, target: str) -> bool:
        return target.lower().endswith(".npz") and Path(target).is_file()

    def _load(self) -> np.ndarray:
        try:
            archive = np.load(self.path, allow_pickle=False)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise InputError(self.path, f"cannot read as .npz: {exc}") from None
        with archive:
            keys = list(archive.files)
            key = self.options.extra.get("key")
            if key is None:
                key = keys[0] if len(keys) == 1 else next((k for k in PREFERRED_KEYS if k in keys), None)
            if key not in keys:
                raise InputError(self.path, f"choose the array with --source-option key=NAME (arrays in the file: {', '.join(keys) or 'none'})")
            try:
                return archive[key]
            except ValueError as exc:
                raise InputError(self.path, f"array {key!r} cannot be read without unpickling, which is refused: {exc}") from None


@gan_eval.hookimpl
def register_sources():
    return [NpySource, NpzSource]
