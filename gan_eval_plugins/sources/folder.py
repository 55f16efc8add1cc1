"""``folder:PATH``: every image file below a folder, recursively, in sorted relative-path order.

Each file is read once: its bytes are hashed and decoded from that same buffer. The fingerprint is
framed over (relative path, SHA-256 of the bytes) per file; bytes decoded later must hash to the
value the fingerprint holds, so a file changed during the run is an error ("changed while being
read") and a record never certifies content that was not scored.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import gan_eval
from gan_eval.errors import InputError
from gan_eval.hashing import FramedDigest, sha256_bytes, sha256_file
from gan_eval.images import infer_value_range, layout_of, parse_size, resize_chw
from gan_eval.reading import ChangedWhileReading, display_name, format_bytes, open_regular, read_regular
from gan_eval.source import Batch, Skip, Source, SourceOptions

from . import decoding
from .decoding import MAX_PIXELS, Probe, check_budget, decode_budget, probe  # noqa: F401 (MAX_PIXELS: public)

EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".npy"})
FINGERPRINT_SCHEME = "gan-eval folder/2"


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
    return sorted(found, key=lambda p: os.fsencode(p.relative_to(root)))


def decode(path: Path, value_range: str | None = None, layout: str | None = None) -> np.ndarray:
    """Decode one file to uint8 3×H×W RGB, or raise InputError naming the file and the problem."""
    where = display_name(path)
    data = read_regular(path)
    check_budget(probe(data, where, layout), where)
    return decoding.decode(data, where, value_range, layout)


def class_labels(root: Path, files: list[Path]) -> tuple[list[str], np.ndarray | None]:
    """Class-subfolder layout (``root/CLASS/...``, ImageFolder's convention): the sorted class names and
    each file's class index, when every file lies in one of at least two first-level subfolders."""
    tops = [path.relative_to(root).parts for path in files]
    if any(len(parts) < 2 for parts in tops):
        return [], None
    classes = sorted({parts[0] for parts in tops})
    if len(classes) < 2:
        return [], None
    index = {name: i for i, name in enumerate(classes)}
    return classes, np.array([index[parts[0]] for parts in tops], dtype=np.int64)


class FolderSource(Source):
    kind = "folder"
    extra_options = {"layout": "layout of .npy files in the folder when ambiguous: chw or hwc"}
    summary = "image files below a folder (png/jpg/bmp/webp/tif/npy), recursive, sorted"
    priority = 10

    def __init__(self, target: str, options: SourceOptions):
        super().__init__(target, options)
        self.root = Path(target)
        if not self.root.is_dir():
            raise InputError(display_name(target), "no such folder")
        files = list_images(self.root)
        if not files:
            raise InputError(display_name(target), f"folder contains no image files (looked for {', '.join(sorted(EXTENSIONS))}, recursively)")
        self.files = files[: options.limit] if options.limit else files
        self.classes, self.labels = class_labels(self.root, self.files)
        self.layout = options.extra.get("layout")
        self._size: tuple[int, int] | None = None
        self._first: Path | None = None
        self._first_channels = 3
        if options.resize and options.resize != "first":
            self._size = parse_size(options.resize, target)
        self._range: str | None = options.value_range
        self._range_known = options.value_range is not None
        self._digests: list[str] | None = None  # per file: SHA-256 of its bytes, or "!problem"
        self._fingerprint: str | None = None

    @classmethod
    def detect(cls, target: str) -> bool:
        return bool(target) and Path(target).is_dir()

    def __len__(self) -> int:
        return len(self.files)

    # -- reading: each file's bytes once, checked against the fingerprint, then decoded --------------

    def _bytes(self, index: int) -> bytes:
        path = self.files[index]
        data = read_regular(path)
        expected = self._file_digests()[index]
        if sha256_bytes(data) != expected:
            raise ChangedWhileReading(
                display_name(path),
                "changed while being read: its bytes differ from those the input's fingerprint "
                "was computed from (was it being written?); nothing was scored from it",
            )
        return data

    def _decode(self, index: int) -> np.ndarray:
        where = display_name(self.files[index])
        data = self._bytes(index)
        check_budget(probe(data, where, self.layout), where)
        return decoding.decode(data, where, self._value_range(), self.layout)

    def _value_range(self) -> str | None:
        """``--range``, else the range inferred from the first float ``.npy`` file (in file order, so
        every process and every batch uses the same one); later files outside it are errors."""
        if not self._range_known:
            self._range_known = True
            for index, path in enumerate(self.files):
                if not decoding.is_npy(path.name):
                    continue
                try:
                    with open_regular(path) as handle:
                        dtype = decoding.npy_dtype(handle.read(1 << 16), display_name(path))
                    if dtype.kind == "f":
                        data = self._bytes(index)
                        where = display_name(path)
                        shape, dtype, fortran, offset = decoding._npy_header(data, where)
                        array = np.ndarray(shape, dtype=dtype, buffer=data, offset=offset, order="F" if fortran else "C")
                        self._range = infer_value_range(array, where)
                        break
                except ChangedWhileReading:
                    raise
                except InputError:
                    continue  # a bad file is reported when it is read
        return self._range

    def _target_size(self) -> tuple[int, int]:
        if self._size is None or self._first is None:  # the first decodable image fixes the size
            for index, path in enumerate(self.files):
                try:
                    image = self._decode(index)
                except ChangedWhileReading:
                    raise
                except InputError:
                    if not self.options.skip_bad:
                        raise
                    continue
                self._size, self._first = self._size or image.shape[1:], path
                self._first_channels = _native_channels(path, self.layout)
                break
            else:
                raise InputError(display_name(self.target), "no file in the folder could be decoded")
        return self._size

    def read(self, start: int, stop: int) -> Batch:
        size = self._target_size()
        stop = min(stop, len(self.files))
        budget = decode_budget()
        images: list[np.ndarray] = []
        skipped: list[tuple[int, Skip]] = []
        held, largest_peak = 0, 0  # bytes the batch holds (file bytes + results), largest decode
        pending: list[tuple[int, bytes]] = []
        for index in range(start, stop):
            where = display_name(self.files[index])
            try:
                data = self._bytes(index)
                header = probe(data, where, self.layout)
                check_budget(header, where, budget)
            except ChangedWhileReading:
                raise
            except InputError as exc:
                if not self.options.skip_bad:
                    raise
                skipped.append((index, Skip(exc.where, exc.problem)))
                continue
            held += len(data) + 3 * size[0] * size[1]
            largest_peak = max(largest_peak, header.peak_bytes)
            pending.append((index, data))
        if held + largest_peak > budget:
            raise InputError(
                display_name(self.target),
                f"decoding images {start}..{stop - 1} as one batch would take about "
                f"{format_bytes(held + largest_peak)}, over the {format_bytes(budget)} decoding budget "
                f"({decoding.BUDGET_ENV}): pass a smaller --batch-size or --resize",
            )
        for index, data in pending:
            where = display_name(self.files[index])
            try:
                image = decoding.decode(data, where, self._value_range(), self.layout)
                if image.shape[1:] != size:
                    if not self.options.resize:
                        raise InputError(
                            where,
                            f"image is {image.shape[1]}×{image.shape[2]} but the first image is {size[0]}×{size[1]}; "
                            "pass --resize first or --resize HxW to resize",
                        )
                    image = resize_chw(image, size)
            except InputError as exc:
                if not self.options.skip_bad:
                    raise
                skipped.append((index, Skip(exc.where, exc.problem)))
                continue
            images.append(image)
        array = np.stack(images) if images else np.zeros((0, 3, *size), np.uint8)
        kept = sorted(set(range(start, stop)) - {index for index, _ in skipped})
        labels = None if self.labels is None else self.labels[kept]
        return Batch(array, [skip for _, skip in sorted(skipped, key=lambda pair: pair[0])], labels=labels)

    # -- fingerprint ---------------------------------------------------------------------------------

    def _file_digests(self) -> list[str]:
        """SHA-256 of each file's bytes, computed once (before the pass: the cache key needs it)."""
        if self._digests is None:
            digests = []
            for path in self.files:
                try:
                    digests.append(sha256_file(path))
                except InputError as exc:
                    digests.append("!" + exc.problem)
                except OSError as exc:
                    digests.append(f"!cannot read: {exc.strerror or exc}")
            self._digests = digests
        return self._digests

    def fingerprint(self) -> str:
        """Framed SHA-256 over the options that change pixels and each file's (relative path, bytes' SHA-256)."""
        if self._fingerprint is None:
            digest = FramedDigest(FINGERPRINT_SCHEME)
            digest.field("resize", self.options.resize).field("skip_bad", int(self.options.skip_bad))
            digest.field("range", self.options.value_range).field("layout", self.layout)
            for path, file_digest in zip(self.files, self._file_digests()):
                digest.field("path", os.fsencode(path.relative_to(self.root)))
                digest.field("unreadable" if file_digest.startswith("!") else "sha256", file_digest)
            self._fingerprint = digest.hexdigest()
        return self._fingerprint

    def item_names(self) -> list[str]:
        return [display_name(path.relative_to(self.root)) for path in self.files]

    def info(self) -> dict[str, Any]:
        height, width = self._target_size()
        info = {"kind": self.kind, "spec": self.spec, "count": len(self), "height": height, "width": width, "channels": self._first_channels}
        if self._value_range() is not None:
            info["value_range"] = self._value_range()
        if self.classes:
            info["classes"] = self.classes
        return info

    def __getstate__(self) -> dict[str, Any]:
        """Workers get the digests with the source, so each verifies against the same fingerprint."""
        self._file_digests()
        return self.__dict__


def _native_channels(path: Path, layout: str | None) -> int:
    """1 for gray images, else 3 (for extractor auto-selection)."""
    try:
        with open_regular(path) as handle:
            head = handle.read(1 << 16)
        if decoding.is_npy(path.name):
            shape, _, _, _ = decoding._npy_header(head, display_name(path), check_size=False)
            if len(shape) == 2:
                return 1
            stack = layout_of((1, *shape), layout, display_name(path))
            return 1 if (shape[2] if stack == "NHWC" else shape[0]) in (1, 2) else 3
        with Image.open(io.BytesIO(read_regular(path))) as image:
            return 1 if image.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F") else 3
    except (InputError, OSError, ValueError, SyntaxError):
        return 3


@gan_eval.hookimpl
def register_sources():
    return [FolderSource]
