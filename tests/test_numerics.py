"""Exact and fast numerics (gan_eval/numerics.py): flags, extractor parameters, marks in the identity."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

import gan_eval
from gan_eval import numerics
from gan_eval.extractor import FeatureExtractor
from gan_eval.params import Param
from gan_eval.plugins import load_registry
from gan_eval.scoring import ScoreConfig, score


class SpeedAwareExtractor(FeatureExtractor):
    """Declares the fast-mode parameters and remembers the TF32 flags it ran under."""

    name = "speed-aware"
    outputs = frozenset({"features"})
    params = {
        "channels_last": Param(False, "channels-last memory format"),
        "autocast": Param("", "autocast dtype"),
    }
    seen_flags: list[tuple[bool, bool, bool]] = []
    instances: list["SpeedAwareExtractor"] = []

    def __init__(self, device="cpu", **params):
        super().__init__(device, **params)
        SpeedAwareExtractor.instances.append(self)

    def __call__(self, images):
        SpeedAwareExtractor.seen_flags.append((torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark))
        x = images.to(torch.float64).flatten(2)
        return {"features": torch.cat([x.mean(2), x.std(2)], 1).float()}


@gan_eval.hookimpl
def register_extractors():
    return [SpeedAwareExtractor]


@pytest.fixture
def registry():
    registry = load_registry(autoload=False)
    registry.register(sys.modules[__name__], "speed-fakes", "file", None, __file__)
    return registry


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(3)
    path = tmp_path / "images.npy"
    np.save(path, rng.integers(0, 256, (12, 8, 8, 3), dtype=np.uint8))
    return str(path)


def _score(registry, images, mode, **extractor_params):
    SpeedAwareExtractor.seen_flags.clear()
    SpeedAwareExtractor.instances.clear()
    config = ScoreConfig(
        generated=images,
        reference=images,
        metrics=["fid"],
        extractor="speed-aware",
        extractor_params=extractor_params,
        device="cpu",
        use_cache=False,
        numerics=mode,
    )
    return score(registry, config)


def test_exact_mode_turns_tf32_off_and_leaves_extractor_defaults(registry, images):
    torch.backends.cudnn.allow_tf32 = True  # torch's default for cuDNN convolutions
    outcome = _score(registry, images, "exact")
    assert set(SpeedAwareExtractor.seen_flags) == {(False, False, False)}
    assert SpeedAwareExtractor.instances[-1].p == {"channels_last": False, "autocast": ""}
    assert "numerics" not in outcome.extractor
    assert torch.backends.cudnn.allow_tf32 is True  # restored after the run


def test_fast_mode_sets_declared_params_and_marks_the_identity(registry, images):
    outcome = _score(registry, images, "fast")
    assert set(SpeedAwareExtractor.seen_flags) == {(True, True, True)}
    assert SpeedAwareExtractor.instances[-1].p == {"channels_last": True, "autocast": ""}  # bf16 only on GPUs
    assert outcome.extractor["numerics"] == "fast"  # so cache keys never mix fast and exact statistics
    assert outcome.results[0]["values"]["fid"] == pytest.approx(0.0, abs=1e-6)
    assert numerics.current() == numerics.EXACT and torch.backends.cuda.matmul.allow_tf32 is False


def test_fast_mode_keeps_a_users_explicit_choice(registry, images):
    _score(registry, images, "fast", autocast="float16")
    assert SpeedAwareExtractor.instances[-1].p == {"channels_last": True, "autocast": "float16"}


def test_fast_params_only_for_declared_ones():
    assert numerics.fast_extractor_params({"autocast": None}, {}, "cuda") == {"autocast": "bfloat16"}
    assert numerics.fast_extractor_params({"autocast": None, "channels_last": None}, {}, "cpu") == {"channels_last": True}
    assert numerics.fast_extractor_params({}, {"x": 1}, "cuda") == {"x": 1}


@pytest.mark.parametrize("native", [False, True])
def test_cpu_fast_params_fuse_and_use_bfloat16_only_where_the_cpu_has_it(monkeypatch, native):
    monkeypatch.setattr(numerics, "native_cpu_bfloat16", lambda: native)
    declared = {"channels_last": None, "autocast": None, "fuse": None, "dtype": None}
    assert numerics.device_kind("cpu") == ("cpu-bf16" if native else "cpu") and numerics.device_kind("cuda") == "cuda"
    expected = {"channels_last": True, "fuse": True, **({"dtype": "bfloat16"} if native else {})}
    assert numerics.fast_extractor_params(declared, {}, "cpu") == expected  # never per-op autocast on a CPU
    assert numerics.fast_extractor_params(declared, {"dtype": "float64"}, "cpu")["dtype"] == "float64"  # the user's choice wins
    assert numerics.fast_extractor_params(declared, {}, "cuda") == {"channels_last": True, "autocast": "bfloat16"}


def test_numerics_scopes_nest_and_restore():
    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark)
    with numerics.numerics("fast"):
        assert numerics.current() == "fast" and torch.backends.cudnn.benchmark
        with numerics.numerics("exact"):
            assert numerics.current() == "exact" and not torch.backends.cudnn.allow_tf32
        assert torch.backends.cuda.matmul.allow_tf32
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark) == before
    with pytest.raises(ValueError, match="exact"):
        with numerics.numerics("turbo"):
            pass
