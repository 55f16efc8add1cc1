"""The reference cache: hit, miss, invalidation by every key part, corrupt entries, --no-cache."""

from __future__ import annotations

from pathlib import Path

import pytest

import gan_eval.cache as cache_module
from cache_fakes import FakeExtractor, PowerSum, fake_registry, write_images
from gan_eval.cache import CACHE_DIR_ENV, cache_dir
from gan_eval.scoring import ScoreConfig, score
from gan_eval_plugins.kid import KernelDistance


@pytest.fixture
def setup(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    gen = write_images(tmp_path / "gen.npy", 40, 1, shift=10)
    ref = write_images(tmp_path / "ref.npy", 60, 2)
    return fake_registry(), gen, ref, tmp_path / "cache" / "reference"


def run(registry, gen, ref, metrics=("fid", "powersum"), metric_params=None, extractor_params=None, use_cache=True):
    """Score and return (values by metric, reference images the extractor saw, warnings)."""
    FakeExtractor.seen = 0
    config = ScoreConfig(
        generated=gen,
        reference=ref,
        metrics=list(metrics),
        metric_params=metric_params or {},
        extractor="fake",
        extractor_params=extractor_params or {},
        device="cpu",
        batch_size=16,
        use_cache=use_cache,
    )
    outcome = score(registry, config)
    return {r["metric"]: r["values"] for r in outcome.results}, FakeExtractor.seen - 40, outcome


def test_miss_then_hit_gives_the_same_values(setup):
    registry, gen, ref, entries = setup
    first, ref_seen, outcome = run(registry, gen, ref)
    assert ref_seen == 60 and len(list(entries.glob("*.npz"))) == 2
    second, ref_seen, outcome2 = run(registry, gen, ref)
    assert ref_seen == 0  # the reference was not read again
    assert second == first
    assert outcome2.inputs["reference"]["count"] == 60
    assert outcome2.previews["reference"].shape == (60, 3, 8, 8)  # still shown in reports


def test_partial_hit_computes_only_the_missing_metric(setup):
    registry, gen, ref, entries = setup
    run(registry, gen, ref, metrics=("fid",))
    values, ref_seen, _ = run(registry, gen, ref, metrics=("fid", "powersum"))
    assert ref_seen == 60 and len(list(entries.glob("*.npz"))) == 2
    assert run(registry, gen, ref, metrics=("fid", "powersum"))[1] == 0


@pytest.mark.parametrize("change", ["extractor params", "reference content", "state param", "state_version", "version"])
def test_any_key_part_change_is_a_miss(setup, change, monkeypatch, tmp_path):
    registry, gen, ref, entries = setup
    run(registry, gen, ref)
    kwargs = {}
    if change == "extractor params":
        kwargs["extractor_params"] = {"scale": 2.0}
    elif change == "reference content":
        ref = write_images(tmp_path / "ref2.npy", 60, 3)
    elif change == "state param":
        kwargs["metric_params"] = {"powersum": {"power": 2}}
    elif change == "state_version":
        monkeypatch.setattr(PowerSum, "state_version", 2)
    else:
        monkeypatch.setattr(cache_module, "__version__", "999.0")
    assert run(registry, gen, ref, **kwargs)[1] == 60
    assert run(registry, gen, ref, **kwargs)[1] == 0  # and the new entry is then a hit


def test_compute_only_parameters_do_not_invalidate(setup):
    registry, gen, ref, _ = setup
    assert KernelDistance.state_params == frozenset()
    run(registry, gen, ref, metrics=("kid",), metric_params={"kid": {"subsets": 3}})
    values, ref_seen, _ = run(registry, gen, ref, metrics=("kid",), metric_params={"kid": {"subsets": 3, "seed": 5}})
    assert ref_seen == 0


def test_corrupt_entry_is_ignored_recomputed_and_replaced(setup):
    registry, gen, ref, entries = setup
    first = run(registry, gen, ref)[0]
    for entry in entries.glob("*.npz"):
        entry.write_bytes(b"not a zip file")
    values, ref_seen, outcome = run(registry, gen, ref)
    assert ref_seen == 60 and values == first
    assert sum("unusable" in w for w in outcome.warnings) == 2
    assert run(registry, gen, ref)[1] == 0  # replaced by a good entry


def test_entry_under_a_wrong_key_is_not_trusted(setup):
    registry, gen, ref, entries = setup
    run(registry, gen, ref, metrics=("fid",))
    (entry,) = entries.glob("*.npz")
    other = entries / ("f" * 64 + ".npz")
    other.write_bytes(entry.read_bytes())
    assert cache_module.ReferenceCache(entries.parent).load("f" * 64, registry.metric("fid")()) is None


def test_no_cache_neither_reads_nor_writes(setup):
    registry, gen, ref, entries = setup
    run(registry, gen, ref, use_cache=False)
    assert not entries.exists()
    run(registry, gen, ref)
    assert run(registry, gen, ref, use_cache=False)[1] == 60


def test_cache_dir_default_and_override(monkeypatch, tmp_path):
    import platformdirs

    monkeypatch.delenv(CACHE_DIR_ENV, raising=False)
    assert cache_dir() == Path(platformdirs.user_cache_dir("gan-eval"))
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path))
    assert cache_dir() == tmp_path


def test_a_second_process_waits_for_the_reference_and_reads_it(setup, monkeypatch, tmp_path):
    """While another process holds a reference's lock (computing it), a run waits instead of
    computing the same reference again, then reads the entries the other one stored."""
    import fcntl
    import shutil
    import threading

    registry, gen, ref, entries = setup
    run(registry, gen, ref)  # the entries and the lock file name, computed in a first cache
    (lock_name,) = [p.name for p in entries.glob("*.lock")]
    second = tmp_path / "second-cache"
    (second / "reference").mkdir(parents=True)
    monkeypatch.setenv(CACHE_DIR_ENV, str(second))
    with open(second / "reference" / lock_name, "a") as other_process:
        fcntl.flock(other_process, fcntl.LOCK_EX)
        outcome: list = []
        waiting = threading.Thread(target=lambda: outcome.append(run(registry, gen, ref)))
        waiting.start()
        waiting.join(timeout=1.0)
        assert waiting.is_alive()  # blocked on the lock, not computing
        for entry in entries.glob("*.npz"):  # "the other process" finishes and stores its entries
            shutil.copy(entry, second / "reference" / entry.name)
        fcntl.flock(other_process, fcntl.LOCK_UN)
    waiting.join(timeout=60)
    ((values, ref_seen, result),) = outcome
    assert ref_seen == 0  # the reference was read from the cache, not extracted again
    assert values == run(registry, gen, ref)[0]
    assert any("waited" in note and lock_name in note for note in result.warnings)
