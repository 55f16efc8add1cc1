"""Error bars on the report's plots: each bar spans exactly the recorded interval, read back from the
SVG through its axis labels; values without an interval get no bar; captions say what the bars are."""

from __future__ import annotations

import json

import pytest

from gan_eval.report import ReportRun, render_report
from gan_eval.report.bars import bar_caption
from gan_eval.report.runs import load_runs

from report_helpers import assert_inert_and_well_formed
from svg_helpers import bars_in_data, find, ids


def _tolerance(values) -> float:
    return 2e-3 * (max(values) - min(values) or 1.0)


def test_trend_bars_span_each_runs_recorded_interval(interval_sweep):
    runs = load_runs(interval_sweep)
    html = render_report(runs)
    assert_inert_and_well_formed(html)
    panel = find(html, "panel-d-contrast")
    drawn = {}
    for role in ("teacher", "student", "scratch"):
        drawn[role] = bars_in_data(panel, f"bars-d-contrast-{role}")
    expected = {}
    for run in runs:
        found = run.interval("contrast")
        assert found is not None and found["low"] < run.primary("contrast") < found["high"]
        expected.setdefault(run.fact("role"), []).append((run.fact("d"), found["low"], found["high"]))
    tol = _tolerance([v for rows in expected.values() for _, *lh in rows for v in lh])
    for role, rows in expected.items():
        assert len(drawn[role]) == len(rows)
        for (x, low, high), (dx, dlow, dhigh) in zip(sorted(rows), drawn[role]):
            assert dx == pytest.approx(x, abs=1e-3) and dlow == pytest.approx(low, abs=tol) and dhigh == pytest.approx(high, abs=tol)
    level = runs[0].interval("contrast")
    assert f"Error bars: {100 * level['level']:g} % {level['method']} bootstrap ({level['resamples']} resamples) intervals" in html


def test_a_value_without_an_interval_is_drawn_without_a_bar(interval_sweep, tmp_path):
    records = [json.loads(p.read_text()) for p in interval_sweep]
    for result in records[1]["results"]:
        if result["name"] == "contrast":
            result.pop("intervals")
    runs = [ReportRun(p.stem, r, str(p)) for p, r in zip(interval_sweep, records)]
    html = render_report(runs)
    students = bars_in_data(find(html, "panel-d-contrast"), "bars-d-contrast-student")
    assert [round(x) for x, _, _ in students] == [4]  # the d=8 student lost its interval: only d=4 keeps a bar
    missing = sum(run.interval(name) is None for run in runs for name in ("laplacian", "contrast"))
    assert missing >= 1
    assert f"{missing} value{'s' if missing > 1 else ''} without a recorded interval {'are' if missing > 1 else 'is'} drawn without a bar" in html


def test_per_run_dots_get_horizontal_bars(interval_sweep):
    records = [json.loads(p.read_text()) for p in interval_sweep[:2]]
    for record in records:  # no trainer facts: one dot per run
        for key in ("d", "role", "compression_ratio", "parameters", "teacher_parameters"):
            record["inputs"]["generated"].pop(key, None)
    runs = [ReportRun(p.stem, r, str(p)) for p, r in zip(interval_sweep, records)]
    html = render_report(runs)
    bars = bars_in_data(find(html, "panel-runs-contrast"), "bars-runs-contrast", horizontal=True)
    expected = sorted((run.interval("contrast")["low"], run.interval("contrast")["high"]) for run in runs)
    tol = _tolerance([v for pair in expected for v in pair])
    assert sorted((low, high) for _, low, high in bars) == [pytest.approx(pair, abs=tol) for pair in expected]


def test_teacher_interval_is_a_band_on_compression_plots(interval_sweep):
    runs = load_runs(interval_sweep)
    html = render_report(runs)
    assert ids(html, "band-contrast-teacher-d16") == ["band-contrast-teacher-d16"]
    assert "Dashed lines: teachers (shaded: their interval)." in html


def test_caption_names_every_kind_of_interval_and_says_when_there_are_none():
    a = {"low": 1.0, "high": 2.0, "level": 0.95, "method": "bca", "resamples": 200}
    b = {"low": 1.0, "high": 2.0, "level": 0.9, "method": "percentile", "resamples": 50}
    text = bar_caption([a, b, None], missing=1)
    assert "90 % percentile bootstrap (50 resamples); 95 % bca bootstrap (200 resamples)" in text and "1 value without" in text
    assert bar_caption([None, None]) == "No value shown has a recorded interval, so no error bars are drawn."
