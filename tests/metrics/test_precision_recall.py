"""Precision/recall: equal to torch-fidelity's, directions, bounded blocks, edge cases."""

from __future__ import annotations

import pytest
import torch
from torch_fidelity.metric_prc import prc_features_to_metric

from gan_eval.errors import GanEvalError
from gan_eval_plugins import precision_recall as pr_module
from gan_eval_plugins.precision_recall import PrecisionRecall, precision_recall


def features(n, d=32, seed=0, scale=1.0, shift=0.0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale + shift


def peer(x, y, k=3):
    out = prc_features_to_metric(x, y, prc_neighborhood=k, prc_batch_size=10000, save_cpu_ram=False, verbose=False)
    return out["precision"], out["recall"], out["f_score"]


def compute(x, y, **params):
    metric = PrecisionRecall(**params)
    gen, ref = metric.new_state(), metric.new_state()
    metric.update(gen, {"features": x})
    metric.update(ref, {"features": y})
    return metric.compute(gen, ref)


@pytest.mark.parametrize("k", [3, 5])
def test_equals_torch_fidelity(k):
    x, y = features(400, seed=1, scale=0.8), features(500, seed=2, shift=0.1)
    ours, theirs = compute(x, y, k=k), peer(x, y, k)
    assert ours["precision"] == pytest.approx(theirs[0], rel=1e-6)
    assert ours["recall"] == pytest.approx(theirs[1], rel=1e-6)
    assert ours["f_score"] == pytest.approx(theirs[2], rel=1e-6)


def test_small_blocks_give_the_same_answer(monkeypatch):
    x, y = features(150, seed=3), features(170, seed=4, scale=1.3)
    expected = precision_recall(x, y)
    monkeypatch.setattr(pr_module, "_BLOCK_ELEMENTS", 100)  # blocks of one row
    assert precision_recall(x, y) == expected


def test_precision_is_about_generated_samples_inside_the_real_manifold():
    real = features(300, seed=5)
    collapsed = features(300, seed=6, scale=0.05)  # all generated samples in the middle of the real data
    precision, recall = precision_recall(collapsed, real)
    assert precision == 1.0 and recall < 0.2


def test_identical_sets_score_one():
    x = features(100, seed=7)
    assert precision_recall(x, x) == (1.0, 1.0)


def test_too_few_images_is_a_clear_error():
    with pytest.raises(GanEvalError, match="more than 3"):
        compute(features(3), features(10))
