"""``npy:FILE`` and ``npz:FILE``: image stacks saved with numpy.

Layouts N×H×W, N×H×W×C and N×C×H×W (C in 1, 3, 4); uint8, uint16, bool, or floats in [0, 1] or
[-1, 1] (``--range`` states which; otherwise it is inferred and recorded). ``.npy`` files are
memory-mapped, so a large file is read batch by batch. Pickled arrays are refused.
"""

from __future__ import annotations

import hashlib
import math
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

import gan_eval
from gan_eval.errors import InputError
from gan_eval.hashing import FramedDigest
from gan_eval.images import image_dims, infer_value_range, layout_of, to_hwc, to_rgb_uint8
from gan_eval.reading import ChangedWhileReading, display_name, format_bytes, open_regular
from gan_eval.source import Batch, Source, SourceOptions

__all__ = ["NpySource", "NpzSource", "layout_of", "PREFERRED_KEYS"]

#: npz keys tried in order when ``--source-option key=`` is not given and the file has several arrays.
PREFERRED_KEYS = ("images", "x", "samples", "arr_0")
FINGERPRINT_SCHEME = "gan-eval array/2"


def physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 40


class _ArraySource(Source):
    extra_options = {"layout": "array layout when the shape is ambiguous: nchw or nhwc", "key": "the array to read from an .npz holding several"}
    priority = 5
    #: whether the array is a memory map of the file (then each read is checked against the fingerprint)
    mapped = False

    def __init__(self, target: str, options: SourceOptions):
        super().__init__(target, options)
        self.path = Path(target)
        if not os.path.lexists(self.path):
            raise InputError(display_name(target), "no such file")
        open_regular(self.path).close()  # a FIFO or device is refused here, never read
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
        self._digests: list[bytes] | None = None
        self._fingerprint: str | None = None

    def _load(self) -> np.ndarray:
        raise NotImplementedError

    def __len__(self) -> int:
        return self.count

    def read(self, start: int, stop: int) -> Batch:
        stop = min(stop, self.count)
        chunk = np.array(self.array[start:stop])  # a copy: what is checked is what is converted
        if self.mapped:
            expected = self._image_digests()[start:stop]
            for offset, (image, digest) in enumerate(zip(chunk, expected)):
                if hashlib.sha256(np.ascontiguousarray(image).tobytes()).digest() != digest:
                    raise ChangedWhileReading(
                        display_name(self.target),
                        f"changed while being read (image {start + offset} differs from "
                        "what the input's fingerprint was computed from); nothing was scored from it",
                    )
        where = f"{self.target}[{start}:{stop}]"
        images = [to_rgb_uint8(image, where, self.value_range) for image in to_hwc(chunk, self.layout)]
        return Batch(np.stack(images))

    def _image_digests(self) -> list[bytes]:
        """SHA-256 of each image's bytes (computed once, before the pass: the cache key needs it)."""
        if self._digests is None:
            self._digests = [hashlib.sha256(np.ascontiguousarray(self.array[i]).tobytes()).digest() for i in range(self.count)]
        return self._digests

    def fingerprint(self) -> str:
        """Framed SHA-256 over what changes the images (key, range, layout, dtype, shape) and each image's bytes."""
        if self._fingerprint is None:
            digest = FramedDigest(FINGERPRINT_SCHEME).field("kind", self.kind).field("key", self.options.extra.get("key"))
            digest.field("range", self.value_range).field("layout", self.layout).field("count", self.count)
            digest.field("dtype", self.array.dtype.str).field("shape", str(tuple(self.array.shape[1:])))
            for image_digest in self._image_digests():
                digest.field("image", image_digest)
            self._fingerprint = digest.hexdigest()
        return self._fingerprint

    def __getstate__(self) -> dict[str, Any]:
        """Workers get the per-image digests with the source, so each checks against the same fingerprint."""
        self._image_digests()
        return self.__dict__

    def info(self) -> dict[str, Any]:
        channels, height, width = image_dims(tuple(self.array.shape), self.layout)
        return {
            "kind": self.kind,
            "spec": self.spec,
            "count": self.count,
            "height": int(height),
            "width": int(width),
            "channels": 1 if channels == 1 else 3,
            "layout": self.layout,
            "dtype": str(self.array.dtype),
            "value_range": self.value_range,
        }


class NpySource(_ArraySource):
    kind = "npy"
    summary = "an image stack in a .npy file (memory-mapped)"

    @classmethod
    def detect(cls, target: str) -> bool:
        return target.lower().endswith(".npy") and Path(target).is_file()

    mapped = True

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
            self._check_size(archive, key)
            try:
                return archive[key]
            except ValueError as exc:
                raise InputError(self.path, f"array {key!r} cannot be read without unpickling, which is refused: {exc}") from None
            except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
                raise InputError(self.path, f"cannot read array {key!r}: {exc}") from None
            except MemoryError:
                raise InputError(self.path, f"array {key!r} does not fit in memory") from None

    def _check_size(self, archive: Any, key: str) -> None:
        """Refuse, from its header, an array that could not fit in memory (an .npz is read whole)."""
        try:
            with archive.zip.open(f"{key}.npy") as member:
                version = np.lib.format.read_magic(member)
                reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, _, dtype = reader(member)
        except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error):
            return  # np.load reports it
        declared = math.prod(shape) * dtype.itemsize
        if declared > physical_memory():
            raise InputError(
                self.path,
                f"array {key!r} declares shape {tuple(shape)} of {dtype} ({format_bytes(declared)}), more than this "
                f"machine's memory ({format_bytes(physical_memory())}): an .npz is read whole; save it as .npy (memory-mapped)",
            )


@gan_eval.hookimpl
def register_sources():
    return [NpySource, NpzSource]
