"""State: sum/cat accumulators, exact merging, persistence as plain arrays."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gan_eval.state import State

SPEC = {"count": "sum", "total": "sum", "rows": "cat"}

batches = st.lists(
    arrays(np.float32, st.tuples(st.integers(1, 5), st.just(3)), elements=st.floats(-1e3, 1e3, width=32)),
    min_size=1, max_size=8,
)


def accumulate(state: State, chunks) -> State:
    """What a metric's update() does with each batch."""
    for chunk in chunks:
        rows = torch.from_numpy(chunk)
        state.add("count", len(rows))
        state.add("total", rows.sum(dim=0))
        state.append("rows", rows)
    return state


def assert_states_equal(a: State, b: State) -> None:
    assert a.spec == b.spec
    for name, reduction in a.spec.items():
        left, right = a.get(name), b.get(name)
        assert (left is None) == (right is None), name
        if left is None:
            continue
        if reduction == "cat":
            assert torch.equal(left, right), name  # concatenation keeps order exactly
        else:
            torch.testing.assert_close(left, right, rtol=1e-12, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(batches, st.data())
def test_merge_of_two_parts_equals_one_pass_over_both(chunks, data):
    split = data.draw(st.integers(0, len(chunks)))
    merged = accumulate(State(SPEC), chunks[:split]).merge(accumulate(State(SPEC), chunks[split:]))
    assert_states_equal(merged, accumulate(State(SPEC), chunks))


@settings(max_examples=30, deadline=None)
@given(batches, batches, batches)
def test_merge_is_associative(a, b, c):
    sa, sb, sc = (accumulate(State(SPEC), x) for x in (a, b, c))
    assert_states_equal(sa.merge(sb).merge(sc), sa.merge(sb.merge(sc)))


def test_sums_are_float64_and_cat_keeps_dtype_and_order():
    state = State(SPEC)
    state.add("total", torch.tensor([1.5, 2.5], dtype=torch.float32))
    state.add("total", np.float32(1.0))
    state.append("rows", torch.tensor([[1]], dtype=torch.int32))
    state.append("rows", torch.tensor([[2], [3]], dtype=torch.int32))
    assert state.get("total").dtype == torch.float64
    assert state.get("total").tolist() == [2.5, 3.5]
    assert state.get("rows").dtype == torch.int32 and state.get("rows").flatten().tolist() == [1, 2, 3]
    assert state.get("count") is None and not state.is_empty()


def test_an_empty_state_is_the_identity_of_merge():
    full = accumulate(State(SPEC), [np.ones((2, 3), np.float32)])
    assert State(SPEC).is_empty()
    assert_states_equal(State(SPEC).merge(full), full)
    assert_states_equal(full.merge(State(SPEC)), full)


def test_round_trip_through_plain_arrays():
    state = accumulate(State(SPEC), [np.arange(6, dtype=np.float32).reshape(2, 3)])
    arrays_ = state.to_arrays()
    assert set(arrays_) == set(SPEC) and all(isinstance(v, np.ndarray) for v in arrays_.values())
    assert_states_equal(State.from_arrays(SPEC, arrays_), state)
    assert State(SPEC).to_arrays() == {}  # empty accumulators are omitted, and restore as empty
    assert State.from_arrays(SPEC, {}).is_empty()


def test_layout_errors_are_refused():
    with pytest.raises(ValueError, match="'sum' or 'cat'"):
        State({"x": "mean"})
    with pytest.raises(ValueError, match="different layouts"):
        State({"x": "sum"}).merge(State({"x": "cat"}))
    with pytest.raises(ValueError, match="unexpected arrays"):
        State.from_arrays({"x": "sum"}, {"y": np.zeros(1)})
