"""Shared fixtures: small, generic helpers any test may use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from gan_eval.cli import main
from gan_eval.plugins import load_registry


@pytest.fixture(scope="session", autouse=True)
def private_reference_cache(tmp_path_factory):
    """Tests (and the commands they start) cache reference states in a temporary folder, never in
    the user's cache; a test that needs its own folder sets ``GAN_EVAL_CACHE_DIR`` itself."""
    import os

    previous = os.environ.get("GAN_EVAL_CACHE_DIR")
    os.environ["GAN_EVAL_CACHE_DIR"] = str(tmp_path_factory.mktemp("reference-cache"))
    yield
    if previous is None:
        os.environ.pop("GAN_EVAL_CACHE_DIR", None)
    else:
        os.environ["GAN_EVAL_CACHE_DIR"] = previous


@pytest.fixture(scope="session", autouse=True)
def no_intervals_unless_asked():
    """Bootstrap intervals cost up to ~20× a small metric's compute(); tests about other things run
    without them (``$GAN_EVAL_BOOTSTRAP=0``, inherited by the commands they start). Tests of
    intervals pass ``--bootstrap N`` / ``bootstrap=N`` explicitly."""
    import os

    previous = os.environ.get("GAN_EVAL_BOOTSTRAP")
    os.environ["GAN_EVAL_BOOTSTRAP"] = "0"
    yield
    if previous is None:
        os.environ.pop("GAN_EVAL_BOOTSTRAP", None)
    else:
        os.environ["GAN_EVAL_BOOTSTRAP"] = previous


@pytest.fixture(scope="session")
def builtin_registry():
    """The registry of the plugins shipped with gan-eval (third-party entry points ignored)."""
    return load_registry(autoload=False)


@pytest.fixture
def run_cli():
    """Run ``gan-eval ARGS`` in-process; returns click's Result (``exit_code``, ``output``).

    Errors gan-eval reports exit with code 1 and a message; any other exception propagates, so a
    bug shows as a traceback rather than as an expected failure.
    """

    def invoke(*args, env=None):
        return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)

    return invoke


@pytest.fixture(scope="session")
def mnist_test_digits():
    """The 1,000 real digits of the mnist5k test split (uint8 N×28×28) and their labels, in stored
    (class-sorted) order; ``dataset:mnist5k:test`` presents them class-interleaved."""
    from gan_eval_plugins.sources.datasets import load_dataset

    return load_dataset("mnist5k", "test")


@pytest.fixture
def image_folder(tmp_path):
    """Factory: write ``count`` random RGB PNGs of ``size`` (H, W) into a new folder; returns it."""

    def make(name="images", count=8, size=(16, 16), seed=0) -> Path:
        folder = tmp_path / name
        folder.mkdir(parents=True)
        rng = np.random.default_rng(seed)
        for i in range(count):
            Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(folder / f"{i:03d}.png")
        return folder

    return make
