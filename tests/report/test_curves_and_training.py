"""The sample-size curve (FID against N, log axis) and training curves (metric against step, best
checkpoint marked), both from real records and read back from the SVG."""

from __future__ import annotations

import json

import pytest

from gan_eval.report import ReportRun, render_report
from gan_eval.report.curves import read_curve
from gan_eval.report.runs import load_runs

from report_helpers import assert_inert_and_well_formed
from svg_helpers import axis_map, bars_in_data, find, ids, markers


def test_the_sample_size_curve_draws_each_recorded_point_and_interval_on_a_log_n_axis(fid_records):
    runs = load_runs([fid_records["mnist"], fid_records["noise"]])
    html = render_report(runs)
    assert_inert_and_well_formed(html)
    panel = find(html, "panel-curve-fid@mnist-cnn")
    for run in runs:
        curve = run.details("fid@mnist-cnn")["curve"]
        bars = bars_in_data(panel, f"bars-curve-fid@mnist-cnn-{run.label}", xlog=True)
        expected = [(n, low, high) for n, low, high in zip(curve["n"], curve["low"], curve["high"]) if low is not None]
        assert 0 < len(expected) < len(curve["n"])  # the first points have too few blocks for an interval: no bar there
        assert len(bars) == len(expected)
        spread = max(h for _, _, h in expected) - min(lo for _, lo, _ in expected)
        for (n, low, high), (x, dlow, dhigh) in zip(expected, bars):
            assert x == pytest.approx(n, rel=2e-3)  # on the log axis
            assert dlow == pytest.approx(low, abs=2e-3 * spread) and dhigh == pytest.approx(high, abs=2e-3 * spread)
        assert curve["n"][-1] == run.generated["count"] and curve["fid"][-1] == pytest.approx(run.primary("fid@mnist-cnn"), rel=1e-9)
    assert "Error bars: 95 % bootstrap (10 resamples) intervals from the records." in html
    assert "A curve still moving at the right end means N is not enough" in html


def test_any_metric_with_a_curve_of_that_shape_gets_one_and_odd_details_are_ignored():
    curve = {"n": [10, 100, 1000], "score": [3.0, 2.0, 1.5], "low": [None, 1.8, 1.4], "high": [None, 2.3, 1.6], "level": 0.9, "resamples": 7}
    result = {"name": "mine@x", "metric": "mine", "primary": "score", "higher_is_better": False, "values": {"score": 1.5}, "details": {"curve": curve}}
    parsed = read_curve(result)
    assert parsed.key == "score" and parsed.n == [10, 100, 1000] and parsed.intervals[0] is None and parsed.intervals[1]["low"] == 1.8
    html = render_report([ReportRun("only", {"inputs": {"generated": {"spec": "x", "count": 1000}}, "results": [result]}, "")])
    bars = bars_in_data(find(html, "panel-curve-mine@x"), "bars-curve-mine@x-only", xlog=True)
    assert [(round(x), lo, hi) for x, lo, hi in bars] == [
        (100, pytest.approx(1.8, abs=1e-3), pytest.approx(2.3, abs=1e-3)),
        (1000, pytest.approx(1.4, abs=1e-3), pytest.approx(1.6, abs=1e-3)),
    ]
    assert "90 % bootstrap (7 resamples)" in html
    for odd in ({"n": []}, {"n": [1, 2]}, {"n": [1, 2], "a": [1, 2], "b": [3, 4]}, "text", None):
        assert read_curve({**result, "primary": "other", "details": {"curve": odd}}) is None


def test_a_curve_without_blocks_says_why_instead_of_a_plot():
    result = {
        "name": "fid@x",
        "metric": "fid",
        "primary": "fid",
        "values": {"fid": 1.0},
        "details": {"curve": {"n": [], "fid": [], "why_empty": "no blocks here"}},
    }
    html = render_report([ReportRun("r", {"inputs": {"generated": {"spec": "x", "count": 5}}, "results": [result]}, "")])
    assert "No curve: r (fid@x): no blocks here." in html and ids(html, "panel-curve") == []


def test_training_curves_mark_the_best_checkpoint_and_draw_logged_intervals(trained_record):
    runs = load_runs([trained_record])
    log = runs[0].generated["training_log"]
    key, best = log["best"]["metric"], log["best"]
    assert [row["step"] for row in log["rows"]] == [2, 4, 6]
    html = render_report(runs)
    assert_inert_and_well_formed(html)
    panel = find(html, f"panel-training-{key}")
    fx, fy = axis_map(panel, "x"), axis_map(panel, "y")
    (star,) = markers(find(html, f"best-{key}-{runs[0].label}"))
    assert fx(star[0]) == pytest.approx(best["step"], abs=0.01)
    values = [row["values"][key] for row in log["rows"]]
    assert best["value"] == min(values)
    assert fy(star[1]) == pytest.approx(best["value"], abs=2e-3 * (max(values) - min(values) or 1))
    logged = [(row["step"], *row["intervals"][key]) for row in log["rows"] if key in row["intervals"]]
    assert logged, "the real evaluation logged intervals"
    bars = bars_in_data(panel, f"bars-training-{key}-{runs[0].label}")
    spread = max(h for *_, h in logged) - min(lo for _, lo, _ in logged)
    assert [(round(x), lo, hi) for x, lo, hi in bars] == [
        (s, pytest.approx(lo, abs=2e-3 * spread), pytest.approx(hi, abs=2e-3 * spread)) for s, lo, hi in logged
    ]
    assert ids(html, "panel-losses-") == [f"panel-losses-{runs[0].label}"]
    assert "Red star and dotted line: the step whose checkpoint was kept as the best" in html
    assert f"<td>{best['checkpoint']}</td>" in html


def test_training_logs_of_another_format_or_without_rows_are_left_out(trained_record):
    record = json.loads(trained_record.read_text())
    for log in ({**record["inputs"]["generated"]["training_log"], "format": "other/9"}, {**record["inputs"]["generated"]["training_log"], "rows": []}):
        record["inputs"]["generated"]["training_log"] = log
        html = render_report([ReportRun("r", record, str(trained_record))])
        assert "Training curves" not in html
