"""dataset: and idx: sources: the real offline digits, Fashion-MNIST, and IDX folders written here."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from gan_eval.errors import InputError
from gan_eval.source import SourceOptions
from gan_eval.specs import open_source
from gan_eval_plugins.sources.datasets import DatasetSource, IdxSource, interleave_classes, load_dataset, read_idx

FASHION = Path("/usr/share/datasets/fashion-mnist")


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(">u1" if type_code == 0x08 else array.dtype).tobytes()


def write_idx_folder(folder: Path, train: np.ndarray, test: np.ndarray) -> Path:
    """An MNIST-format folder: plain train files, gzipped test files, labels for train only."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train-images-idx3-ubyte").write_bytes(idx_bytes(train))
    (folder / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.arange(len(train), dtype=np.uint8) % 10))
    with gzip.open(folder / "t10k-images-idx3-ubyte.gz", "wb") as handle:
        handle.write(idx_bytes(test))
    return folder


def digests(images: np.ndarray) -> set[str]:
    return {hashlib.sha256(image.tobytes()).hexdigest() for image in images}


def test_mnist5k_splits_are_disjoint_with_the_documented_sizes():
    train, train_labels = load_dataset("mnist5k", "train")
    test, test_labels = load_dataset("mnist5k", "test")
    every, _ = load_dataset("mnist5k", "all")
    assert train.shape == (4000, 28, 28) and test.shape == (1000, 28, 28) and every.shape == (5000, 28, 28)
    assert train.dtype == np.uint8 and 200 < train.max() <= 255
    assert np.bincount(test_labels).tolist() == [100] * 10
    assert np.bincount(train_labels).tolist() == [400] * 10
    assert not digests(train) & digests(test)
    assert digests(train) | digests(test) == digests(every)


def test_dataset_source_reads_a_split_as_rgb(mnist_test_digits):
    source = DatasetSource("mnist5k:test", SourceOptions(limit=50))
    batch = source.read(10, 20).images
    assert len(source) == 50 and batch.shape == (10, 3, 28, 28)
    images, labels = mnist_test_digits
    in_source_order = images[interleave_classes(labels)]
    assert all(np.array_equal(batch[:, c], in_source_order[10:20]) for c in range(3))
    info = source.info()
    assert (info["dataset"], info["split"], info["channels"], info["count"]) == ("mnist5k", "test", 1, 50)
    assert len(DatasetSource("mnist5k", SourceOptions())) == 5000  # default split: all


def test_dataset_fingerprints_differ_between_splits():
    assert DatasetSource("mnist5k:test", SourceOptions()).fingerprint() != DatasetSource("mnist5k:train", SourceOptions()).fingerprint()


@pytest.mark.parametrize(
    "target, problem",
    [
        ("mnist5k:valid", "unknown split 'valid'"),
        ("imagenet", "unknown dataset"),
    ],
)
def test_unknown_datasets_and_splits(target, problem):
    with pytest.raises(InputError, match=problem):
        DatasetSource(target, SourceOptions())


@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian package dataset-fashion-mnist not installed")
def test_fashion_mnist_test_split():
    source = DatasetSource("fashion-mnist:test", SourceOptions())
    assert len(source) == 10_000 and np.bincount(source.labels).tolist() == [1000] * 10


def test_idx_folder_written_here(tmp_path):
    rng = np.random.default_rng(3)
    train, test = rng.integers(0, 256, (6, 5, 7), dtype=np.uint8), rng.integers(0, 256, (3, 5, 7), dtype=np.uint8)
    folder = write_idx_folder(tmp_path / "digits", train, test)
    source = IdxSource(str(folder), SourceOptions())  # default split: train
    assert len(source) == 6 and np.array_equal(source.read(0, 6).images[:, 1], train)
    assert source.labels.tolist() == [0, 1, 2, 3, 4, 5]
    source = IdxSource(f"{folder}:test", SourceOptions())
    assert np.array_equal(source.read(0, 3).images[:, 2], test)
    assert source.labels.tolist() == [-1, -1, -1]  # no label file: unknown labels, not an error
    assert source.info()["split"] == "test" and (source.info()["height"], source.info()["width"]) == (5, 7)


def test_an_idx_folder_is_detected_without_a_prefix(tmp_path, builtin_registry):
    folder = write_idx_folder(tmp_path / "digits", np.zeros((2, 4, 4), np.uint8), np.zeros((1, 4, 4), np.uint8))
    assert open_source(builtin_registry, str(folder), SourceOptions()).kind == "idx"
    assert open_source(builtin_registry, f"{folder}:test", SourceOptions()).kind == "idx"


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"\x00\x00\x08", "bad magic number"),
        (b"\x01\x02\x08\x03" + bytes(12), "bad magic number"),
        (b"\x00\x00\x07\x03" + bytes(12), "bad magic number"),
        (b"\x00\x00\x08\x03\x00\x00", "truncated IDX header"),
        (idx_bytes(np.zeros((2, 4, 4), np.uint8))[:-1], r"header says shape \(2, 4, 4\) \(32 bytes\) but the file holds 31 bytes"),
        (idx_bytes(np.zeros((2, 4, 4), np.uint8)) + b"x", "holds 33 bytes"),
    ],
)
def test_bad_idx_headers_are_named(content, problem, tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(content)
    with pytest.raises(InputError, match=problem) as caught:
        read_idx(path)
    assert caught.value.where == str(path)


def test_idx_folder_problems(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no train-images-idx3-ubyte"):
        IdxSource(str(tmp_path / "empty"), SourceOptions())
    with pytest.raises(InputError, match="no such folder"):
        IdxSource(str(tmp_path / "missing"), SourceOptions())
    folder = tmp_path / "wrongtype"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((2, 3), np.uint8)))
    with pytest.raises(InputError, match="expected uint8 N×H×W images"):
        IdxSource(str(folder), SourceOptions())


def test_mnist5k_source_is_class_interleaved_so_prefixes_are_balanced():
    from gan_eval.plugins import load_registry
    from gan_eval.source import SourceOptions
    from gan_eval.specs import open_source
    from gan_eval_plugins.sources.datasets import load_dataset

    source = open_source(load_registry(), "dataset:mnist5k:test", SourceOptions(limit=100))
    assert np.bincount(source.labels, minlength=10).tolist() == [10] * 10
    assert source.labels[:12].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    # the same images as the split, only reordered
    full = open_source(load_registry(), "dataset:mnist5k:test", SourceOptions())
    images, _ = load_dataset("mnist5k", "test")
    assert sorted(map(bytes, full.images)) == sorted(map(bytes, images))
