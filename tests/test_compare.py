"""Paired comparison of two runs from their states, and whether two records are comparable at all."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from coverage_helpers import state_of
from gan_eval.compare import compare_states, comparability
from gan_eval.errors import GanEvalError
from gan_eval_plugins.fid import FrechetDistance
from gan_eval_plugins.precision_recall import PrecisionRecall


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def teacher_like(n, seed, quality=1.0):
    """Features of a 'model' whose samples match the reference N(0, I) in d = 4 when quality is 1."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)) * quality + (1 - quality)


def test_two_halves_of_the_same_data_are_not_significantly_different():
    metric = FrechetDistance()
    data = teacher_like(2000, 0)
    reference = state_of(metric, teacher_like(1000, 1), blocks=20)
    a, b = state_of(metric, data[:1000], blocks=20), state_of(metric, data[1000:], blocks=20)
    result = compare_states(metric, a, b, reference, resamples=200, seed=0)["fid"]
    assert not result["significant"] and result["p_value"] > 0.05
    assert result["low"] < 0 < result["high"]
    assert result["difference"] == pytest.approx(result["b"] - result["a"], abs=1e-12)


def test_a_clearly_worse_model_is_significantly_worse():
    metric = FrechetDistance()
    reference = state_of(metric, teacher_like(1000, 1), blocks=20)
    teacher, student = state_of(metric, teacher_like(1000, 2), blocks=20), state_of(metric, teacher_like(1000, 3, quality=0.8), blocks=20)
    result = compare_states(metric, teacher, student, reference, resamples=200, seed=0)["fid"]
    assert result["significant"] and result["p_value"] < 0.01 and result["low"] > 0  # B − A > 0: the student is worse


def test_half_sampled_metrics_compare_too():
    metric = PrecisionRecall()
    reference = state_of(metric, teacher_like(300, 1))
    same = compare_states(metric, state_of(metric, teacher_like(300, 2)), state_of(metric, teacher_like(300, 3)), reference, resamples=60)
    worse = compare_states(metric, state_of(metric, teacher_like(300, 2)), state_of(metric, teacher_like(300, 3, quality=0.5)), reference, resamples=60)
    assert not same["recall"]["significant"] and worse["recall"]["significant"] and worse["recall"]["difference"] < 0


def test_a_state_without_blocks_cannot_be_compared():
    metric = FrechetDistance()
    with pytest.raises(GanEvalError, match="run A's state cannot be resampled"):
        compare_states(
            metric,
            state_of(metric, teacher_like(100, 0)),
            state_of(metric, teacher_like(100, 1), blocks=5),
            state_of(metric, teacher_like(100, 2)),
            resamples=10,
        )


def record(**overrides):
    base = {
        "config": {"numerics": "exact", "profile": None},
        "extractors": {"inception": {"extractor": "inception", "weights_sha256": "abc", "profile": "torch-fidelity"}},
        "inputs": {"generated": {"count": 1000}, "reference": {"fingerprint": "ref1", "count": 5000}},
    }
    for path, value in overrides.items():
        node = base
        *parents, leaf = path.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    return base


def test_comparable_records_have_no_reasons():
    assert comparability(record(), record()) == []


@pytest.mark.parametrize(
    "override, reason",
    [
        ({"extractors.inception.weights_sha256": "other"}, "weights_sha256 differs"),
        ({"extractors.inception.profile": "clean-fid"}, "profile differs"),
        ({"config.numerics": "fast"}, "numerics differ"),
        ({"inputs.reference.fingerprint": "ref2"}, "the reference differs"),
        ({"inputs.generated.count": 500}, "1000 generated images but B has 500"),
        ({"extractors": {"dinov2": {"extractor": "dinov2"}}}, "used by only one run"),
    ],
)
def test_each_difference_is_a_reason(override, reason):
    reasons = comparability(record(), record(**override))
    assert any(reason in r for r in reasons), reasons
