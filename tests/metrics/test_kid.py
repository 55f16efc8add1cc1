"""KID: equal to torch-fidelity's with the same subsets, both code paths, clamping, edge cases."""

from __future__ import annotations

import pytest
import torch
from torch_fidelity.metric_kid import kid_features_to_metric

from gan_eval.errors import GanEvalError
from gan_eval_plugins import kid as kid_module
from gan_eval_plugins.kid import KernelDistance, kernel_distance

PEER_DEFAULTS = dict(
    kid_kernel="poly",
    kid_kernel_poly_degree=3,
    kid_kernel_poly_gamma=None,
    kid_kernel_poly_coef0=1,
    verbose=False,
)


def features(n, d=64, seed=0, shift=0.0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) + shift


def peer(x, y, subsets, size, seed=2020):
    out = kid_features_to_metric(x, y, kid_subsets=subsets, kid_subset_size=size, rng_seed=seed, **PEER_DEFAULTS)
    return out["kernel_inception_distance_mean"], out["kernel_inception_distance_std"]


@pytest.mark.parametrize(
    "n_x, n_y, subsets, size",
    [(300, 350, 50, 100), (120, 130, 10, 40)],  # shared-kernel path, then per-subset path
)
def test_equals_torch_fidelity_on_both_paths(n_x, n_y, subsets, size, monkeypatch):
    x, y = features(n_x, seed=1), features(n_y, seed=2, shift=0.05)
    theirs = peer(x, y, subsets, size)
    for shared_limit in (0, 2**30):  # force each path
        monkeypatch.setattr(kid_module, "_MAX_SHARED_KERNEL", shared_limit)
        ours = kernel_distance(x, y, subsets, size)
        assert ours[0] == pytest.approx(theirs[0], rel=1e-9)
        assert ours[1] == pytest.approx(theirs[1], rel=1e-9)


def test_metric_defaults_are_torch_fidelitys():
    x, y = features(1100, d=16, seed=3), features(1050, d=16, seed=4, shift=0.2)
    metric = KernelDistance(subsets=5)
    gen, ref = metric.new_state(), metric.new_state()
    metric.update(gen, {"features": x.float()})
    metric.update(ref, {"features": y.float()})
    ours = metric.compute(gen, ref)
    theirs = peer(x.float().double(), y.float().double(), 5, 1000)
    assert ours["mean"] == pytest.approx(theirs[0], rel=1e-9)


def test_small_sets_clamp_the_subset_size_with_a_warning():
    metric = KernelDistance(subsets=4)
    gen, ref = metric.new_state(), metric.new_state()
    metric.update(gen, {"features": features(30, seed=5)})
    metric.update(ref, {"features": features(40, seed=6)})
    with pytest.warns(UserWarning, match="clamped from 1000 to 30"):
        values = metric.compute(gen, ref)
    assert values["mean"] == pytest.approx(peer(features(30, seed=5), features(40, seed=6), 4, 30)[0], rel=1e-9)


def test_same_distribution_is_near_zero_and_shift_is_positive():
    same = kernel_distance(features(400, seed=7), features(400, seed=8), 20, 200)[0]
    shifted = kernel_distance(features(400, seed=7), features(400, seed=8, shift=1.0), 20, 200)[0]
    assert abs(same) < 0.01 < shifted


def test_one_image_is_a_clear_error():
    metric = KernelDistance()
    gen, ref = metric.new_state(), metric.new_state()
    metric.update(gen, {"features": features(1)})
    metric.update(ref, {"features": features(10)})
    with pytest.raises(GanEvalError, match="at least 2"):
        with pytest.warns(UserWarning):
            metric.compute(gen, ref)
