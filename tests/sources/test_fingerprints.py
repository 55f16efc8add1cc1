"""Content fingerprints (issue 18): every field framed, so different folders never share one; and
what is fingerprinted is what was decoded (a file changed during the run is an error)."""

from __future__ import annotations

import io
import os
import pickle

import numpy as np
import pytest
from PIL import Image

from gan_eval.errors import InputError
from gan_eval.hashing import FramedDigest
from gan_eval.reading import ChangedWhileReading
from gan_eval.source import SourceOptions
from gan_eval_plugins.sources.arrays import NpySource
from gan_eval_plugins.sources.folder import FolderSource

RNG = np.random.default_rng(5)


def png(value: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def colliding_folders(tmp_path):
    """Folders the unframed scheme (path + NUL + bytes + NUL per file) hashed identically: one file
    whose bytes contain "\\0b.png\\0" versus two files. Both decode (trailing bytes after a PNG's
    IEND are ignored), to different images."""
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / "a.png").write_bytes(png(10) + b"\0b.png\0" + png(200))
    (two / "a.png").write_bytes(png(10))
    (two / "b.png").write_bytes(png(200))
    old_stream = {folder: b"".join(p.name.encode() + b"\0" + p.read_bytes() + b"\0" for p in sorted(folder.iterdir())) for folder in (one, two)}
    assert old_stream[one] == old_stream[two]  # really a collision of the old scheme
    return one, two


def test_framed_fields_cannot_be_shifted_between_each_other():
    assert FramedDigest("s").field("a", "bc").hexdigest() != FramedDigest("s").field("ab", "c").hexdigest()
    assert FramedDigest("s").field("p", "a").field("p", "b").hexdigest() != FramedDigest("s").field("p", "ab").hexdigest()
    assert FramedDigest("s").field("x", None).hexdigest() != FramedDigest("s").field("x", "").hexdigest()


def test_crafted_folders_have_different_fingerprints(tmp_path):
    one, two = colliding_folders(tmp_path)
    assert FolderSource(str(one), SourceOptions()).fingerprint() != FolderSource(str(two), SourceOptions()).fingerprint()


def test_the_reference_cache_never_serves_one_folder_for_the_other(tmp_path, monkeypatch):
    from cache_fakes import FakeExtractor, fake_registry
    from gan_eval.cache import CACHE_DIR_ENV
    from gan_eval.scoring import ScoreConfig, score

    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    one, two = colliding_folders(tmp_path)
    generated = tmp_path / "gen.npy"
    np.save(generated, RNG.integers(0, 256, (4, 8, 8, 3), dtype=np.uint8))
    registry = fake_registry()

    def reference_count(reference):
        FakeExtractor.seen = 0
        config = ScoreConfig(
            generated=str(generated), reference=str(reference), metrics=["powersum"], extractor="fake", device="cpu", batch_size=8, use_cache=True
        )
        return score(registry, config).inputs["reference"]["count"]

    assert reference_count(two) == 2
    assert reference_count(one) == 1  # a miss: computed from its own single image, not the cached pair


def test_a_file_changed_after_fingerprinting_is_an_error_not_a_certified_score(tmp_path):
    for i in range(3):
        (tmp_path / f"{i}.png").write_bytes(png(i))
    source = FolderSource(str(tmp_path), SourceOptions(skip_bad=True))
    before = source.fingerprint()
    (tmp_path / "1.png").write_bytes(png(99))  # rewritten while the run goes on
    with pytest.raises(ChangedWhileReading, match="1.png: changed while being read"):
        source.read(0, 3)  # even with --skip-bad: skipping would certify bytes that were not scored
    assert source.fingerprint() == before


def test_reading_first_fingerprints_what_was_read(tmp_path):
    """Reading before fingerprinting fixes the digests at the first read; the later fingerprint
    covers those bytes, and equals a fresh source's over the same content."""
    for i in range(2):
        (tmp_path / f"{i}.png").write_bytes(png(i))
    source = FolderSource(str(tmp_path), SourceOptions())
    source.read(0, 2)
    assert source.fingerprint() == FolderSource(str(tmp_path), SourceOptions()).fingerprint()


def test_workers_receive_the_digests_with_the_source(tmp_path):
    (tmp_path / "0.png").write_bytes(png(1))
    source = FolderSource(str(tmp_path), SourceOptions())
    copy = pickle.loads(pickle.dumps(source))  # what a DataLoader worker gets
    (tmp_path / "0.png").write_bytes(png(2))
    with pytest.raises(ChangedWhileReading):
        copy.read(0, 1)


def test_a_mapped_npy_changed_during_the_run_is_an_error(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, RNG.integers(0, 256, (4, 6, 6, 3), dtype=np.uint8))
    source = NpySource(str(path), SourceOptions())
    source.fingerprint()
    changed = np.load(path, mmap_mode="r+")
    changed[2] = 0
    changed.flush()
    del changed
    source.read(0, 2)  # images 0 and 1 are untouched
    with pytest.raises(ChangedWhileReading, match="image 2 differs"):
        source.read(2, 4)


def test_fingerprints_of_non_utf8_names(tmp_path):
    name = os.fsdecode(b"caf\xe9.png")  # Latin-1 bytes: not UTF-8
    (tmp_path / name).write_bytes(png(3))
    source = FolderSource(str(tmp_path), SourceOptions())
    assert len(source.fingerprint()) == 64 and len(source.read(0, 1).images) == 1
    (tmp_path / name).write_bytes(b"broken")
    with pytest.raises(InputError) as caught:
        FolderSource(str(tmp_path), SourceOptions()).read(0, 1)
    assert "caf\\xe9.png" in str(caught.value)
    str(caught.value).encode("utf-8")  # printable: no lone surrogates
