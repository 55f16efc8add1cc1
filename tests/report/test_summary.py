"""The summary table: best values marked by each metric's declared direction."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from gan_eval.report.runs import ReportRun
from gan_eval.report.summary import best_indices, build_summary

values_lists = st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True, width=32)), max_size=8)


@given(values_lists, st.booleans())
def test_best_is_the_extreme_finite_value_and_every_tie(values, higher):
    best = best_indices(values, higher)
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if len(finite) < 2:
        assert best == set()
        return
    target = max(finite) if higher else min(finite)
    assert best == {i for i, v in enumerate(values) if v is not None and math.isfinite(v) and v == target}


@given(values_lists)
def test_no_best_without_a_direction(values):
    assert best_indices(values, None) == set()


def _record(results, **generated):
    return {"inputs": {"generated": {"spec": "x", "count": 10, **generated}}, "results": results}


def _result(name, value, higher, primary="score"):
    return {"name": name, "metric": name.split("@")[0], "primary": primary, "higher_is_better": higher, "values": {primary: value, "extra": 1.0}}


def test_summary_marks_lowest_fid_and_highest_is_and_shows_trainer_facts():
    runs = [
        ReportRun("a", _record([_result("fid@x", 10.0, False), _result("is@x", 2.0, True), _result("laplacian", 5.0, None, "mean")], d=8, role="student")),
        ReportRun("b", _record([_result("fid@x", 7.0, False), _result("is@x", 3.0, True), _result("laplacian", 9.0, None, "mean")], d=16, role="teacher")),
        ReportRun("c", _record([_result("fid@x", 7.0, False)])),
    ]
    summary = build_summary(runs)
    assert [c.name for c in summary.columns] == ["fid@x", "is@x", "laplacian"]
    assert summary.facts == ["role", "d"]
    best = {(row.label, col.name) for row in summary.rows for col, cell in zip(summary.columns, row.cells) if cell.best}
    assert best == {("b", "fid@x"), ("c", "fid@x"), ("b", "is@x")}  # a tie marks both; laplacian has no direction
    assert summary.rows[2].cells[1].value is None  # run c has no IS
    assert summary.rows[0].cells[0].other == {"extra": 1.0}


def test_runs_that_disagree_on_direction_get_no_best_mark():
    runs = [ReportRun("a", _record([_result("m", 1.0, True)])), ReportRun("b", _record([_result("m", 2.0, False)]))]
    summary = build_summary(runs)
    assert summary.columns[0].higher_is_better is None
    assert not any(cell.best for row in summary.rows for cell in row.cells)


def test_facts_all_runs_share_move_under_the_table():
    runs = [
        ReportRun("a", _record([], arch="dcgan", dataset="mnist5k", d=4, teacher_parameters=9)),
        ReportRun("b", _record([], arch="dcgan", dataset="fashion-mnist", d=8)),
    ]
    summary = build_summary(runs)
    assert summary.facts == ["d", "dataset"]  # teacher parameters live in the reproducibility block
    assert summary.common == {"arch": "dcgan"}


def test_best_is_marked_only_when_its_interval_overlaps_no_other():
    from gan_eval.report.summary import tied_with

    assert tied_with(0, [(1.0, 2.0), (2.5, 3.0), (1.9, 4.0)]) == {2}
    assert tied_with(0, [(1.0, 2.0), (2.5, 3.0)]) == set()
    assert tied_with(0, [None, (0.0, 9.0)]) == set()  # no interval: the plain best value is marked


def test_overlapping_intervals_make_a_tie_and_separate_ones_a_winner():
    def run(label, value, low, high):
        result = {**_result("fid@x", value, False), "intervals": {"score": {"low": low, "high": high, "level": 0.95}}}
        return ReportRun(label, _record([result]), label)

    tied = build_summary([run("a", 10.0, 9.0, 11.0), run("b", 10.5, 10.2, 12.0)])
    assert [row.cells[0].tied for row in tied.rows] == [True, True] and not any(row.cells[0].best for row in tied.rows)
    clear = build_summary([run("a", 10.0, 9.0, 11.0), run("b", 20.0, 18.0, 22.0)])
    assert [row.cells[0].best for row in clear.rows] == [True, False] and clear.rows[0].cells[0].interval == (9.0, 11.0)
