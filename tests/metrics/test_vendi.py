"""Vendi: equal to the vendi-score package (both decompositions), per-class scores from labels,
invariants and an end-to-end run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from vendi_score import vendi

from gan_eval.errors import GanEvalError
from gan_eval_plugins.vendi import Vendi, vendi_score

# the package itself imports a deprecated scipy name
pytestmark = pytest.mark.filterwarnings("ignore:Please import `csr_matrix`:DeprecationWarning")


def features(n, d, seed=0, shift=0.3):
    return np.random.default_rng(seed).standard_normal((n, d)) + shift


def run(batches, **params):
    metric = Vendi(**params)
    state = metric.new_state()
    for batch in batches:
        metric.update(state, batch)
    return metric, state


@pytest.mark.parametrize("n, d", [(60, 200), (90, 90), (400, 24)])  # n×n, square, and d×d decompositions
def test_equals_the_vendi_score_package(n, d):
    x = features(n, d, seed=n)
    ours = vendi_score(torch.from_numpy(x))
    assert ours == pytest.approx(vendi.score_X(x), abs=1e-10, rel=0)
    assert 1.0 < ours < min(n, d)


def test_copies_and_orthogonal_rows_are_the_extremes():
    one = np.tile(features(1, 16, seed=1), (50, 1))
    assert vendi_score(torch.from_numpy(one)) == pytest.approx(1.0, abs=1e-10)
    assert vendi_score(torch.eye(12, dtype=torch.float64) * 3) == pytest.approx(12.0, abs=1e-10)
    with_zero_row = features(30, 8, seed=2)
    with_zero_row[3] = 0  # scikit-learn's normalize leaves a zero row zero; so do we
    assert vendi_score(torch.from_numpy(with_zero_row)) == pytest.approx(vendi.score_X(with_zero_row), abs=1e-10)


def test_without_labels_only_the_overall_score_is_reported():
    x = features(120, 32, seed=3)
    metric, state = run([{"features": torch.from_numpy(part)} for part in np.array_split(x, 3)])
    assert metric.compute(state, None) == {"vendi": pytest.approx(vendi.score_X(x), abs=1e-10)}
    assert metric.details(state, None) is None


def test_labels_give_per_class_scores_and_their_mean():
    rng = np.random.default_rng(4)
    x, labels = features(150, 20, seed=5), rng.integers(0, 3, 150)
    x[labels == 2] = x[labels == 2][0]  # class 2: one image repeated
    metric, state = run([{"features": torch.from_numpy(x[s]), "labels": torch.from_numpy(labels[s])} for s in np.array_split(np.arange(150), 4)])
    values = metric.compute(state, None)
    expected = {c: vendi.score_X(x[labels == c]) for c in range(3)}
    assert expected[2] == pytest.approx(1.0)
    assert values["vendi"] == pytest.approx(vendi.score_X(x), abs=1e-10)
    assert values["vendi_class_mean"] == pytest.approx(np.mean(list(expected.values())), abs=1e-10)
    details = metric.details(state, None)
    assert details["classes"] == [0, 1, 2] and details["classes_total"] == 3
    assert details["counts"] == [int((labels == c).sum()) for c in range(3)]
    assert details["vendi"] == pytest.approx([expected[c] for c in range(3)], abs=1e-10)


def test_labels_for_only_some_batches_are_ignored_with_a_warning():
    x = features(40, 8, seed=6)
    metric, state = run([{"features": torch.from_numpy(x[:20]), "labels": torch.zeros(20, dtype=torch.int64)}, {"features": torch.from_numpy(x[20:])}])
    with pytest.warns(UserWarning, match="labels came with only 20 of 40 images"):
        values = metric.compute(state, None)
    assert set(values) == {"vendi"}


def test_an_empty_set_is_a_clear_error():
    metric = Vendi()
    with pytest.raises(GanEvalError, match="vendi: the generated set has no images"):
        metric.compute(metric.new_state(), None)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 40), st.integers(1, 40), st.floats(-2, 2))
def test_vendi_lies_between_one_and_the_rank_bound(seed, n, d, shift):
    x = torch.from_numpy(np.random.default_rng(seed).standard_normal((n, d)) + shift)
    value = vendi_score(x)
    assert 1.0 - 1e-9 <= value <= min(n, d) + 1e-9
    assert value == pytest.approx(vendi_score(x[torch.randperm(n)]), rel=1e-9)  # order does not matter
    assert value == pytest.approx(vendi_score(x * 7.5), rel=1e-9)  # nor the rows' lengths


def test_end_to_end_through_the_engine(run_cli, tmp_path):
    out = tmp_path / "run.json"
    result = run_cli("score", "dataset:mnist5k:test", "--limit", "200", "--extractor", "mnist-cnn", "-m", "vendi", "-q", "--no-cache", "--out", out)
    assert result.exit_code == 0, result.output
    entry = next(r for r in json.loads(out.read_text())["results"] if r["metric"] == "vendi")
    assert entry["name"] == "vendi@mnist-cnn" and 1.0 < entry["values"]["vendi"] < 200
