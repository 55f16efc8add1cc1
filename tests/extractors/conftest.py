"""Fixtures shared by the inception extractor's tests."""

from __future__ import annotations

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
