"""The CPU pooling paths of the Inception network give torch's pooling values bit for bit."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from gan_eval_plugins.inception.pooling import max_pool_3x3, tf_avg_pool_3x3


def tensor(n: int, c: int, h: int, w: int, seed: int) -> torch.Tensor:
    x = torch.randn(n, c, h, w, generator=torch.Generator().manual_seed(seed))
    return x.relu() if seed % 2 else x  # after ReLU, as in the network: many exact zeros and ties


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(1, 9), st.integers(3, 23), st.integers(3, 23), st.sampled_from([(1, 1), (2, 0)]), st.integers(0, 99))
def test_max_pool_equals_torch_bit_for_bit(n, c, h, w, stride_padding, seed):
    stride, padding = stride_padding
    x = tensor(n, c, h, w, seed)
    assert torch.equal(max_pool_3x3(x, stride, padding), F.max_pool2d(x, 3, stride, padding))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(1, 40), st.integers(1, 19), st.integers(1, 19), st.integers(0, 99), st.sampled_from([torch.float32, torch.float64]))
def test_tf_average_pool_equals_torch_bit_for_bit(n, c, h, w, seed, dtype):
    x = (tensor(n, c, h, w, seed) * 100).to(dtype)  # float64: the extractor's dtype=float64
    expected = F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
    out = tf_avg_pool_3x3(x)
    assert out.is_contiguous() and torch.equal(out, expected)


def test_max_pool_propagates_nan_like_torch():
    x = tensor(1, 2, 7, 7, 0)
    x[0, 1, 3, 3] = float("nan")
    ours, theirs = max_pool_3x3(x, 2), F.max_pool2d(x, 3, 2)
    assert torch.equal(ours.isnan(), theirs.isnan()) and ours.isnan().any()
    assert torch.equal(ours.nan_to_num(), theirs.nan_to_num())
