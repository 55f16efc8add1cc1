"""Fast-mode Inception (gan_eval_plugins/inception/fast.py): fused kernels equal their parts, and fast
mode stays within measured bounds of exact mode on real digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gan_eval import numerics
from gan_eval.plugins import load_registry
from gan_eval.scoring import ScoreConfig, score
from gan_eval_plugins.inception import InceptionExtractor
from gan_eval_plugins.inception.fast import (
    FusedConvReLU,
    folded,
    onednn_pointwise_available,
)
from gan_eval_plugins.inception.network import ConvBN
from gan_eval_plugins.sources.datasets import load_dataset

pytestmark = pytest.mark.usefixtures("isolated_inception_env")


def _block(cin, cout, kernel, stride=1, padding=0, seed=0) -> ConvBN:
    generator = torch.Generator().manual_seed(seed)
    block = ConvBN(cin, cout, kernel, stride, padding)
    block.conv.weight.data = torch.randn(block.conv.weight.shape, generator=generator) * 0.2
    block.bn.weight.data = 1 + 0.2 * torch.randn(cout, generator=generator)
    block.bn.bias.data = 0.3 * torch.randn(cout, generator=generator)
    block.bn.running_mean.data = 0.5 * torch.randn(cout, generator=generator)
    block.bn.running_var.data = torch.rand(cout, generator=generator) + 0.5
    return block.eval()


@pytest.mark.skipif(not onednn_pointwise_available(), reason="this torch build has no oneDNN pointwise convolution")
@pytest.mark.parametrize("kernel,stride,padding", [((1, 1), 1, (0, 0)), ((1, 7), 1, (0, 3)), ((3, 3), 2, (0, 0))])
def test_prepacked_kernel_equals_conv_then_relu_bit_for_bit(kernel, stride, padding):
    block = _block(24, 40, kernel, stride, padding)
    weight, bias = folded(block)
    x = torch.randn(3, 24, 17, 17, generator=torch.Generator().manual_seed(1)).contiguous(memory_format=torch.channels_last)
    fused = FusedConvReLU(weight.contiguous(memory_format=torch.channels_last), bias, block.conv.stride, block.conv.padding, (8, 24, 17, 17))
    with torch.inference_mode():
        plain = fused(x)  # not prepacked yet: conv2d then ReLU
        fused.prepack()  # packed for 8 images; a call with 3 still works (oneDNN reorders for it)
        packed = fused(x)
        expected = F.relu(block(x.contiguous()))
    assert fused.packed is not None and packed.shape == expected.shape
    assert torch.equal(packed, plain)
    # folding rounds the products differently: float32 rounding of outputs up to ~10
    torch.testing.assert_close(packed, expected, rtol=1e-5, atol=1e-5)


def _digits_file(tmp_path, split: str, n: int, step: int):
    digits, _ = load_dataset("mnist5k", split)
    rgb = np.repeat(digits[: n * step : step, :, :, None], 3, axis=3) if digits.ndim == 3 else digits[: n * step : step]
    path = tmp_path / f"{split}.npy"
    np.save(path, np.ascontiguousarray(rgb))
    return str(path)


def _scores(registry, generated, reference, weights, mode):
    config = ScoreConfig(
        generated=generated,
        reference=reference,
        metrics=["fid", "is", "kid"],
        extractor="inception",
        extractor_params={"weights": str(weights), "allow_nonstandard": True},
        batch_size=16,
        device="cpu",
        use_cache=False,
        numerics=mode,
        metric_params={"kid": {"subsets": 20, "subset_size": 16}},
    )
    outcome = score(registry, config)
    return {r["name"].split("@")[0]: r["values"] for r in outcome.results}, outcome.extractor


def test_fast_mode_stays_close_to_exact_on_real_digits(standin_weights, tmp_path):
    """32 MNIST test digits against 32 training digits, exact and --fast through the whole pipeline.

    Bounds: on the 2-core AVX2 EPYC (float32 fused path, the stand-in weights) FID moved 1.2e-6
    relative, IS 7.7e-6 and KID 6e-6 (the features ~1e-5); the bounds are 13-25× that, because other
    CPUs' oneDNN kernels sum in other orders. A bfloat16 network (AVX512-BF16/AMX CPUs) moves the
    features ~4 % (test below); on the 2-core AVX512-BF16 EPYC FID moved 2.9e-3, IS 2.9 % (0.16 of
    its own split std) and KID 0.8 %, so there the bounds are 10×, 2.8× and 6× that.
    """
    registry = load_registry()
    generated, reference = _digits_file(tmp_path, "test", 32, 5), _digits_file(tmp_path, "train", 32, 7)
    exact, exact_id = _scores(registry, generated, reference, standin_weights, "exact")
    fast, fast_id = _scores(registry, generated, reference, standin_weights, "fast")
    assert "fuse" not in exact_id["params"] and fast_id["params"]["fuse"] is True and fast_id["numerics"] == "fast"
    bf16 = fast_id["params"]["dtype"] == "bfloat16"
    assert bf16 == (numerics.device_kind("cpu") == "cpu-bf16")
    fid_bound, is_bound, kid_bound = (3e-2, 8e-2, 5e-2) if bf16 else (3e-5, 1e-4, 1e-4)
    assert exact["fid"]["fid"] > 1.0 and exact["is"]["mean"] > 1.0  # real, different sets: nothing degenerate
    assert fast["fid"]["fid"] == pytest.approx(exact["fid"]["fid"], rel=fid_bound)
    assert fast["is"]["mean"] == pytest.approx(exact["is"]["mean"], rel=is_bound)
    assert fast["kid"]["mean"] == pytest.approx(exact["kid"]["mean"], rel=kid_bound)
    assert abs(fast["is"]["mean"] - exact["is"]["mean"]) < 0.5 * exact["is"]["std"]  # well inside IS's own spread
    assert fast["fid"]["fid"] != exact["fid"]["fid"]  # fast really ran a different network


def test_bfloat16_network_returns_float32_close_to_exact(standin_weights):
    """The bfloat16 network (slow on CPUs without native bf16, so only 4 digits): float32 outputs,
    features within 8 % (measured 4.0 %, logits 5.7 %: 8-bit mantissas through 94 convolutions)."""
    digits, _ = load_dataset("mnist5k", "test")
    images = torch.from_numpy(np.repeat(digits[:4, None], 3, axis=1) if digits.ndim == 3 else digits[:4].transpose(0, 3, 1, 2).copy())
    exact = InceptionExtractor("cpu", weights=str(standin_weights), allow_nonstandard=True)(images)
    bf16 = InceptionExtractor("cpu", weights=str(standin_weights), allow_nonstandard=True, fuse=True, dtype="bfloat16")
    out = bf16(images)
    assert bf16.network.Mixed_7c.branch_pool.weight.dtype == torch.bfloat16
    for name in ("features", "logits"):
        assert out[name].dtype == torch.float32
        relative = (out[name] - exact[name]).norm() / exact[name].norm()
        assert 1e-4 < relative < 0.08, (name, float(relative))
