"""Sanity of FID/IS/KID/precision-recall on real data through the domain nets, via the normal engine
path (``--extractor auto`` with no Inception weights): real vs real is close, blur and noise are far,
and IS of real digits is close to the number of classes."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from gan_eval.errors import InputError
from gan_eval.scoring import ScoreConfig, score
from gan_eval_plugins.sources.datasets import load_dataset

NEEDED = {"fid", "is", "kid", "pr"}


@pytest.fixture(autouse=True)
def no_inception_weights(monkeypatch, tmp_path):
    """Auto-selection falls back to the domain nets only when the Inception weights are absent."""
    monkeypatch.delenv("GAN_EVAL_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))


@pytest.fixture(scope="module")
def registry():
    from gan_eval.plugins import load_registry

    registry = load_registry(autoload=False)
    missing = NEEDED - set(registry.metrics())
    if missing:
        pytest.skip(f"metric plugins not installed yet: {sorted(missing)}")
    return registry


@pytest.fixture(scope="module")
def arrays(tmp_path_factory):
    """Real digits not in the test split (every 4th training digit: 100 per class), their blurred
    test twins, and uniform noise, as .npy files of uint8 N×28×28."""
    folder = tmp_path_factory.mktemp("domain-sanity")
    train, _ = load_dataset("mnist5k", "train")
    test, _ = load_dataset("mnist5k", "test")
    rng = np.random.default_rng(0)
    files = {
        "real": train[::4],
        "blurred": np.stack([cv2.GaussianBlur(image, (0, 0), 1.5) for image in test]),
        "noise": rng.integers(0, 256, test.shape, dtype=np.uint8),
    }
    for name, images in files.items():
        np.save(folder / f"{name}.npy", np.ascontiguousarray(images))
    return {name: str(folder / f"{name}.npy") for name in files}


def run(registry, generated, reference=None, metrics=("fid",), **options):
    config = ScoreConfig(generated=generated, reference=reference, metrics=list(metrics), device="cpu", batch_size=500, use_cache=False, **options)
    outcome = score(registry, config)
    return {r["name"]: r["values"] for r in outcome.results}, outcome


def test_fid_kid_and_pr_separate_real_blurred_and_noise(registry, arrays):
    metrics = ("fid", "kid", "pr")
    real, outcome = run(registry, arrays["real"], "dataset:mnist5k:test", metrics)
    blurred, _ = run(registry, arrays["blurred"], "dataset:mnist5k:test", metrics)
    noise, _ = run(registry, arrays["noise"], "dataset:mnist5k:test", metrics)
    assert outcome.extractor["extractor"] == "mnist-cnn"
    fid = {k: v["fid@mnist-cnn"]["fid"] for k, v in (("real", real), ("blurred", blurred), ("noise", noise))}
    assert fid["real"] < fid["blurred"] < fid["noise"], fid
    assert 10 * fid["real"] < fid["noise"] and 2 * fid["real"] < fid["blurred"], fid
    kid = {k: v["kid@mnist-cnn"]["mean"] for k, v in (("real", real), ("blurred", blurred), ("noise", noise))}
    assert kid["real"] < kid["blurred"] < kid["noise"], kid
    assert real["pr@mnist-cnn"]["precision"] > 0.6 and noise["pr@mnist-cnn"]["precision"] < 0.05


def test_inception_score_of_real_digits_is_close_to_ten_and_noise_is_far_below(registry, arrays):
    real, _ = run(registry, "dataset:mnist5k:test", metrics=("is",))
    noise, outcome = run(registry, arrays["noise"], "dataset:mnist5k:test", metrics=("is",))
    assert outcome.extractor["extractor"] == "mnist-cnn"
    assert 9.0 < real["is@mnist-cnn"]["mean"] <= 10.0
    assert noise["is@mnist-cnn"]["mean"] < 3.0


def test_fashion_data_selects_fashion_cnn_and_behaves(registry):
    try:
        load_dataset("fashion-mnist", "test")
    except InputError as exc:
        pytest.skip(str(exc))
    values, outcome = run(registry, "dataset:fashion-mnist:test", "dataset:fashion-mnist:train", ("fid", "is"), source_options={"limit": 2000})
    assert outcome.extractor["extractor"] == "fashion-cnn"
    assert values["fid@fashion-cnn"]["fid"] < 5.0
    assert values["is@fashion-cnn"]["mean"] > 6.0


def test_cli_and_record_say_which_extractor_was_used_and_that_it_is_not_inception(run_cli, registry, arrays, tmp_path):
    record_path = tmp_path / "run.json"
    result = run_cli("score", arrays["real"], "--ref", "dataset:mnist5k:test", "-m", "fid", "--no-cache", "-q", "--out", record_path)
    assert result.exit_code == 0, result.output
    assert "extractor: mnist-cnn" in result.output and "NOT the standard Inception" in result.output
    record = json.loads(record_path.read_text())
    assert record["extractor"]["extractor"] == "mnist-cnn" and record["extractor"]["standard"] is False
    assert len(record["extractor"]["weights_sha256"]) == 64
    assert [r["name"] for r in record["results"]] == ["fid@mnist-cnn"]
    assert any("not the standard Inception" in w for w in record["warnings"])
