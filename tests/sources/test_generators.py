"""Generator sources: exact counts, images that depend only on (seed, index), clear errors."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gan_eval.errors import InputError
from gan_eval.source import SourceOptions
from gan_eval_plugins.sources.generators import BLOCK, CallableSource, TorchScriptSource, block_latents
from trainers.checkpoint_source import CheckpointSource  # the ckpt: source moved to the trainers' plugin
from trainers.checkpoint import save_generator
from trainers.models import Architecture, build_pair


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A student checkpoint with a record as 'gan-eval train' writes it."""
    path = tmp_path_factory.mktemp("ckpt") / "student-d2.pt"
    spec = Architecture(d=2)
    generator, _ = build_pair(spec, seed=0)
    with torch.no_grad():  # larger weights: images that differ visibly between latents
        for p in generator.parameters():
            p.normal_(0.0, 0.3, generator=torch.Generator().manual_seed(2))
    record = {
        "role": "student",
        "arch": "dcgan",
        "d": 2,
        "loss": "mse",
        "lambda": None,
        "dataset": "mnist5k",
        "data": "dataset:mnist5k:train",
        "steps": 10,
        "seed": 0,
        "architecture": spec.as_dict(),
        "parameters": 13276,
        "teacher_parameters": 58096,
        "compression_ratio": 58096 / 13276,
    }
    save_generator(path, generator, record)
    return str(path)


def ckpt(path, count, seed=0, **kw):
    return CheckpointSource(path, SourceOptions(count=count, seed=seed, **kw))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(1, 149), max_size=6, unique=True))
def test_images_do_not_depend_on_batching_or_sharding(checkpoint, cuts):
    whole = ckpt(checkpoint, 150, seed=7).read(0, 150).images
    bounds = [0, *sorted(cuts), 150]
    fresh = ckpt(checkpoint, 150, seed=7)  # a new source (new process in a sharded run) with an empty cache
    pieces = [fresh.read(a, b).images for a, b in zip(bounds, bounds[1:])]
    assert np.array_equal(np.concatenate(pieces), whole)


def test_count_is_exact_and_smaller_counts_are_prefixes(checkpoint):
    big = ckpt(checkpoint, 130)
    assert len(big) == 130 and big.read(0, 130).images.shape == (130, 3, 28, 28)
    assert big.read(120, 500).images.shape[0] == 10  # never past the count
    small = ckpt(checkpoint, 5)
    assert np.array_equal(small.read(0, 5).images, big.read(0, 5).images)
    assert len(ckpt(checkpoint, 100, limit=30)) == 30


def test_seed_selects_the_images(checkpoint):
    a, b = ckpt(checkpoint, 8, seed=1).read(0, 8).images, ckpt(checkpoint, 8, seed=2).read(0, 8).images
    assert not np.array_equal(a, b)
    assert ckpt(checkpoint, 8, seed=1).fingerprint() != ckpt(checkpoint, 8, seed=2).fingerprint()
    assert ckpt(checkpoint, 8, seed=1).fingerprint() == ckpt(checkpoint, 8, seed=1).fingerprint()
    assert len({img.tobytes() for img in a}) == 8  # distinct images


def test_info_carries_the_trainer_facts(checkpoint):
    info = ckpt(checkpoint, 10).info()
    assert {k: info[k] for k in ("kind", "count", "height", "width", "channels")} == {"kind": "ckpt", "count": 10, "height": 28, "width": 28, "channels": 1}
    assert info["dataset"] == "mnist5k" and info["role"] == "student" and info["d"] == 2 and info["arch"] == "dcgan"
    assert info["parameters"] == 13276 and info["teacher_parameters"] == 58096
    assert info["compression_ratio"] == pytest.approx(58096 / 13276)
    assert CheckpointSource.detect(checkpoint)


def test_a_folder_with_one_checkpoint_is_that_checkpoint(checkpoint, tmp_path):
    folder = ckpt(str(__import__("pathlib").Path(checkpoint).parent), 4)
    assert np.array_equal(folder.read(0, 4).images, ckpt(checkpoint, 4).read(0, 4).images)
    with pytest.raises(InputError, match="exactly one"):
        ckpt(str(tmp_path), 4)


def test_gray_images_are_repeated_to_rgb_and_match_the_generator(checkpoint):
    from trainers.checkpoint import load_generator

    generator, _ = load_generator(checkpoint)
    with torch.no_grad():
        expected = generator(block_latents(0, 0, (100,)))[:3].numpy()
    images = ckpt(checkpoint, 3).read(0, 3).images
    assert np.array_equal(images[:, 0], images[:, 2])
    assert np.array_equal(images[:, 0], np.rint((expected[:, 0].astype(np.float64) + 1) / 2 * 255).astype(np.uint8))


def test_missing_count_is_a_clear_error(checkpoint):
    with pytest.raises(InputError, match="--num"):
        CheckpointSource(checkpoint, SourceOptions())


@pytest.fixture
def fake_module(monkeypatch):
    module = types.ModuleType("gan_eval_test_fake_generators")

    def constant(z):  # f(z): -1, 0 and 1 in three stripes
        images = torch.zeros(z.shape[0], 1, 4, 3)
        images[..., 0], images[..., 2] = -1.0, 1.0
        return images

    module.constant = constant
    module.by_seed = lambda seed, n: np.random.default_rng(seed).uniform(-1, 1, (n, 3, 8, 8)).astype(np.float32)
    module.nan = lambda z: torch.full((z.shape[0], 3, 4, 4), float("nan"))
    module.short = lambda z: torch.zeros(z.shape[0] - 1, 3, 4, 4)
    module.flat = lambda z: torch.zeros(z.shape[0], 16)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return module.__name__


def test_callable_outputs_map_from_minus_one_one_to_uint8(fake_module):
    source = CallableSource(f"{fake_module}:constant", SourceOptions(count=3, extra={"latent": "100"}))
    images = source.read(0, 3).images
    assert images.shape == (3, 3, 4, 3)
    assert (images[..., 0] == 0).all() and (images[..., 1] == 128).all() and (images[..., 2] == 255).all()
    assert source.info()["channels"] == 1


def test_callable_seed_mode_is_deterministic_and_batch_independent(fake_module):
    source = CallableSource(f"{fake_module}:by_seed", SourceOptions(count=100, seed=4))
    whole = source.read(0, 100).images
    again = CallableSource(f"{fake_module}:by_seed", SourceOptions(count=100, seed=4))
    assert np.array_equal(np.concatenate([again.read(i, i + 30).images for i in range(0, 100, 30)]), whole)
    assert source.info()["channels"] == 3


@pytest.mark.parametrize(
    "name,message",
    [
        ("nan", "NaN or Inf"),
        ("short", f"returned {BLOCK - 1} images for {BLOCK}"),
        ("flat", "expected N×C×H×W"),
        ("missing", "has no callable"),
    ],
)
def test_bad_generators_are_errors_that_name_them(fake_module, name, message):
    with pytest.raises(InputError, match=message) as info:
        CallableSource(f"{fake_module}:{name}", SourceOptions(count=4, extra={"latent": "100"}))
    assert f"callable:{fake_module}:{name}" in str(info.value)


def test_torchscript_generator(tmp_path, checkpoint):
    from trainers.checkpoint import load_generator

    generator, _ = load_generator(checkpoint)
    scripted = torch.jit.trace(generator, torch.randn(2, 100))
    scripted.save(str(tmp_path / "g.ts"))
    source = TorchScriptSource(str(tmp_path / "g.ts"), SourceOptions(count=70, seed=3, extra={"latent": "100"}))
    assert np.array_equal(source.read(0, 70).images, ckpt(checkpoint, 70, seed=3).read(0, 70).images)
    assert source.info()["height"] == 28 and source.info()["channels"] == 1
    with pytest.raises(InputError, match="latent="):
        TorchScriptSource(str(tmp_path / "g.ts"), SourceOptions(count=4))
    with pytest.raises(InputError, match="latent batch of shape"):
        TorchScriptSource(str(tmp_path / "g.ts"), SourceOptions(count=4, extra={"latent": "7"}))


def test_score_command_reads_a_checkpoint(run_cli, checkpoint):
    result = run_cli("score", checkpoint, "--num", 20, "-m", "laplacian", "--json", "--seed", 3)
    assert result.exit_code == 0, result.output
    result = run_cli("score", f"ckpt:{checkpoint}", "-m", "laplacian")
    assert result.exit_code != 0 and "--num" in result.output
