"""Fixtures shared by the extractors' tests (stand-in weights, isolated weights folders)."""

from __future__ import annotations

import os

import pytest

from gan_eval_plugins.inception import standin_weights_file


@pytest.fixture
def isolated_inception_env(monkeypatch, tmp_path):
    """No user weights, hub folder or hash cache leaks into a test: each gets empty private ones."""
    monkeypatch.setenv("GAN_EVAL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("GAN_EVAL_INCEPTION_WEIGHTS", raising=False)


@pytest.fixture(scope="session")
def standin_weights(tmp_path_factory):
    """The deterministic stand-in Inception weights file, written once per test session."""
    return standin_weights_file(tmp_path_factory.getbasetemp() / "inception-standin")


@pytest.fixture
def isolated_weights_env(monkeypatch, tmp_path):
    """No user DINOv2/CLIP weights, cache folder or hash cache leaks into a test (nor out of it)."""
    monkeypatch.setenv("GAN_EVAL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # ~/.cache/clip
    for name in list(os.environ):
        if name.startswith(("GAN_EVAL_DINOV2_", "GAN_EVAL_CLIP_")):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def dinov2_standin(tmp_path_factory):
    """Stand-in DINOv2 ViT-S/14 weights in the official layout, written once per test session."""
    from gan_eval_plugins.dinov2 import write_standin_weights

    return write_standin_weights(tmp_path_factory.getbasetemp() / "dinov2-standin" / "dinov2_vits14_pretrain.pth", "vits14")


@pytest.fixture(scope="session")
def clip_standin(tmp_path_factory):
    """Stand-in OpenAI CLIP ViT-B/32 file (TorchScript, float16, image tower), written once per test session."""
    from gan_eval_plugins.clip import write_standin_weights

    return write_standin_weights(tmp_path_factory.getbasetemp() / "clip-standin" / "ViT-B-32.pt", "vitb32")
