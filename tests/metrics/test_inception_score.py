"""IS: equal to torch-fidelity's on the same logits (same shuffle), OpenAI conventions, edge cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_fidelity.metric_isc import isc_features_to_metric

from gan_eval.errors import GanEvalError
from gan_eval_plugins.inception_score import InceptionScore, inception_score


def logits(n, k=1008, seed=0, scale=3.0):
    return torch.randn(n, k, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale


def state_of(values, metric, batch=37):
    state = metric.new_state()
    for chunk in values.split(batch):
        metric.update(state, {"logits": chunk})
    return state


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("n", [503, 1000])
def test_equals_torch_fidelity(shuffle, n):
    x = logits(n, seed=n)
    theirs = isc_features_to_metric(x, splits=10, shuffle=shuffle, rng_seed=2020)
    metric = InceptionScore(shuffle=shuffle)
    ours = metric.compute(state_of(x, metric), None)
    assert ours["mean"] == pytest.approx(theirs["inception_score_mean"], rel=1e-10)
    assert ours["std"] == pytest.approx(theirs["inception_score_std"], rel=1e-8)


def test_float32_logits_match_torch_fidelity_to_1e4():
    x = logits(400, seed=1).float()
    theirs = isc_features_to_metric(x, splits=10, shuffle=True, rng_seed=7)
    assert inception_score(x, seed=7)[0] == pytest.approx(theirs["inception_score_mean"], rel=1e-4)


def test_contiguous_splits_and_population_std():
    """Hand-built: two splits, one of uniform predictions (IS 1), one of two sure, different classes (IS 2)."""
    sure = torch.tensor([[50.0, 0.0], [0.0, 50.0]], dtype=torch.float64)
    uniform = torch.zeros(2, 2, dtype=torch.float64)
    mean, std = inception_score(torch.cat([uniform, sure]), splits=2, shuffle=False)
    assert mean == pytest.approx(1.5, abs=1e-9)
    assert std == pytest.approx(0.5, abs=1e-9)  # ddof = 0


def test_seed_changes_the_shuffle_only_when_shuffling():
    x = logits(200, k=10, seed=3)
    assert inception_score(x, seed=1) != inception_score(x, seed=2)
    assert inception_score(x, shuffle=False, seed=1) == inception_score(x, shuffle=False, seed=2)


def test_reference_score_is_reported_when_given():
    metric = InceptionScore()
    values = metric.compute(state_of(logits(100, k=10, seed=4), metric), state_of(logits(100, k=10, seed=5, scale=0.1), metric))
    assert set(values) == {"mean", "std", "ref_mean", "ref_std"}
    assert values["mean"] > values["ref_mean"] >= 1.0


def test_fewer_images_than_splits_is_a_clear_error():
    metric = InceptionScore()
    with pytest.raises(GanEvalError, match="is.splits"):
        metric.compute(state_of(logits(5, k=10), metric), None)


def test_declared_conventions():
    assert InceptionScore.name == "is" and InceptionScore.primary == "mean" and InceptionScore.higher_is_better is True
    assert InceptionScore.requires == frozenset({"logits"})
    assert np.isclose(inception_score(logits(50, k=4, scale=0.0), splits=5)[0], 1.0)


def test_one_image_per_split_warns_that_is_is_exactly_one():
    metric = InceptionScore()
    with pytest.warns(UserWarning, match="one image per split, where IS is exactly 1"):
        values = metric.compute(state_of(logits(10, k=10, seed=6), metric), None)
    assert values["mean"] == pytest.approx(1.0, abs=1e-12)  # what the warning is about


def test_small_splits_warn_and_large_ones_do_not():
    import warnings

    metric = InceptionScore(splits=2)
    with pytest.warns(UserWarning, match=r"499 per split \(< 500\)"):
        metric.compute(state_of(logits(998, k=10, seed=7), metric), None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metric.compute(state_of(logits(1000, k=10, seed=7), metric), None)
