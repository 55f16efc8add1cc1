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
    min_size=1,
    max_size=8,
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


# --- blocks and resampling (bootstrap intervals) ------------------------------------------------------
def accumulate_batches(state: State, chunks, first_batch: int = 0) -> State:
    """What the engine does: number each batch globally, then let the metric update."""
    for i, chunk in enumerate(chunks):
        state.begin_batch(first_batch + i)
        accumulate(state, [chunk])
    return state


@settings(max_examples=40, deadline=None)
@given(batches, st.data(), st.integers(2, 5))
def test_blocks_sum_to_the_totals_and_shards_merge_to_one_process(chunks, data, blocks):
    split = data.draw(st.integers(0, len(chunks)))
    whole = accumulate_batches(State(SPEC, blocks=blocks), chunks)
    merged = accumulate_batches(State(SPEC, blocks=blocks), chunks[:split]).merge(
        accumulate_batches(State(SPEC, blocks=blocks), chunks[split:], first_batch=split)
    )
    assert_states_equal(merged, whole)
    assert merged.blocks == blocks
    for name in ("count", "total"):
        torch.testing.assert_close(whole.block_sums(name).sum(dim=0), whole.get(name), rtol=1e-12, atol=1e-9)
        torch.testing.assert_close(merged.block_sums(name), whole.block_sums(name), rtol=1e-12, atol=1e-9)
    assert sorted(merged.row_blocks("rows").tolist()) == sorted(whole.row_blocks("rows").tolist())


def test_batch_i_goes_to_block_i_mod_k():
    state = accumulate_batches(State(SPEC, blocks=3), [np.full((1, 3), float(i), np.float32) for i in range(7)])
    # batches 0..6 -> blocks 0,1,2,0,1,2,0: block 0 holds 0+3+6, block 1 holds 1+4, block 2 holds 2+5
    assert state.block_sums("total")[:, 0].tolist() == [9.0, 5.0, 7.0]
    assert state.block_sums("count").tolist() == [3.0, 2.0, 2.0]
    assert state.row_blocks("rows").tolist() == [0, 1, 2, 0, 1, 2, 0]


def test_a_blocked_state_refuses_updates_outside_a_batch():
    with pytest.raises(ValueError, match="begin_batch"):
        State(SPEC, blocks=4).add("count", 1.0)


def test_blocks_round_trip_through_arrays_and_old_arrays_still_load():
    state = accumulate_batches(State(SPEC, blocks=4), [np.ones((2, 3), np.float32) * i for i in range(6)])
    arrays = state.to_arrays()
    assert {"blocks/count", "blocks/total", "blocks/rows"} <= set(arrays) and arrays["blocks/total"].shape == (4, 3)
    restored = State.from_arrays(SPEC, arrays)
    assert restored.blocks == 4 and restored.units() == state.units()
    assert_states_equal(restored, state)
    torch.testing.assert_close(restored.block_sums("total"), state.block_sums("total"))
    legacy = State.from_arrays(SPEC, {k: v for k, v in arrays.items() if not k.startswith("blocks/")})
    assert legacy.blocks == 0 and legacy.units().kind == "fixed"  # a stats file without blocks: fixed statistics
    assert_states_equal(legacy, state)


def test_units_say_what_a_resample_draws():
    rows_only = {"rows": "cat", "other": "cat"}
    state = State(rows_only)
    state.append("rows", torch.ones(5, 2))
    state.append("other", torch.ones(5))
    assert state.units().kind == "rows" and state.units().count == 5
    state.append("other", torch.ones(1))
    assert state.units().kind == "fixed" and "different row counts" in state.units().why
    assert State(SPEC).units().kind == "fixed"
    unblocked = accumulate(State(SPEC), [np.ones((2, 3), np.float32)])
    assert unblocked.units().kind == "fixed" and "without blocks" in unblocked.units().why
    blocked = accumulate_batches(State(SPEC, blocks=8), [np.ones((2, 3), np.float32)] * 3)
    assert blocked.units().kind == "blocks" and blocked.units().count == 8 and blocked.units().nonempty == 3
    np.testing.assert_array_equal(blocked.filled_units(), [0, 1, 2])


def test_a_block_resample_is_the_state_of_the_drawn_blocks_with_their_multiplicity():
    chunks = [np.random.default_rng(i).standard_normal((3, 3)).astype(np.float32) for i in range(6)]
    state = accumulate_batches(State(SPEC, blocks=3), chunks)
    draw = np.array([2, 0, 2])  # block 2 twice, block 0 once: batches 2, 5 twice and 0, 3 once
    expected = accumulate(State(SPEC), [chunks[i] for i in (2, 5, 0, 3, 2, 5)])
    got = state.resampled(draw)
    for name in ("count", "total"):
        torch.testing.assert_close(got.get(name), expected.get(name), rtol=1e-12, atol=1e-12)
    assert sorted(map(tuple, got.get("rows").tolist())) == sorted(map(tuple, expected.get("rows").tolist()))
    assert got.blocks == 0 and got.units().kind == "fixed"  # for compute() only: not resampled again


def test_a_row_resample_gathers_rows_jointly():
    state = State({"a": "cat", "b": "cat"})
    state.append("a", torch.arange(10.0).reshape(5, 2))
    state.append("b", torch.arange(5))
    got = state.resampled(np.array([4, 4, 0, 1, 3]))
    assert got.get("b").tolist() == [4, 4, 0, 1, 3]
    assert torch.equal(got.get("a")[:, 0], 2.0 * got.get("b").to(torch.float32))
    with pytest.raises(ValueError, match="unit indices"):
        state.resampled(np.array([5]))


def test_keep_blocks_gives_a_subset_that_can_be_resampled_again():
    state = accumulate_batches(State(SPEC, blocks=4), [np.ones((2, 3), np.float32) * i for i in range(8)])
    subset = state.resampled(np.array([0, 1]), keep_blocks=True)
    assert subset.units().kind == "blocks" and subset.units().nonempty == 2
    assert subset.get("count").item() == 8.0  # batches 0, 4, 1, 5
    torch.testing.assert_close(subset.block_sums("total").sum(dim=0), subset.get("total"))


def test_restore_row_order_puts_a_batch_back_and_leaves_other_accumulators_alone():
    state = State({"rows": "cat", "odd": "cat"}, blocks=2)
    state.begin_batch(0)
    state.append("rows", torch.tensor([[9.0]]))
    marks = state.row_marks()
    order = torch.tensor([0, 2, 1, 3])  # images 0, 2 went to block 0, images 1, 3 to block 1
    for block, images in ((0, [0, 2]), (1, [1, 3])):
        state.begin_batch(block)
        state.append("rows", torch.tensor([[float(i)] for i in images]))
        state.append("odd", torch.tensor([float(block)]))  # one row per block, not per image
        state.get("rows")  # a read mid-batch compacts the chunks: the mark falls inside one
    state.restore_row_order(marks, order)
    assert state.get("rows")[:, 0].tolist() == [9.0, 0.0, 1.0, 2.0, 3.0]
    assert state.row_blocks("rows").tolist() == [0, 0, 1, 0, 1]
    assert state.get("odd").tolist() == [0.0, 1.0]
