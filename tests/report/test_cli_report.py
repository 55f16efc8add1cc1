"""``gan-eval report`` and ``score --html`` from the command line; metric details() validation."""

from __future__ import annotations

import json

import pytest

from gan_eval.errors import PluginError
from gan_eval.metric import Metric
from gan_eval.scoring import MAX_DETAILS_CHARS, metric_details
from gan_eval.cli.output import EXIT_INPUT


def test_report_command_writes_one_file_from_records_and_a_manifest(tmp_path, run_cli, sweep_records):
    manifest = tmp_path / "sweep.json"
    manifest.write_text(json.dumps({"runs": [{"record": str(p), "label": f"run {i}"} for i, p in enumerate(sweep_records[:2])]}))
    out = tmp_path / "out" / "report.html"
    result = run_cli("report", manifest, sweep_records[2], "-o", out, "--title", "My sweep")
    assert result.exit_code == 0, result.output
    assert "report on 3 runs written to" in result.output
    html = out.read_text()
    assert "<title>My sweep</title>" in html and "run 0" in html and "run 1" in html and "student-d4" in html
    assert not list(out.parent.glob(".*.tmp"))  # written atomically, nothing left behind


def test_report_command_names_a_bad_input(tmp_path, run_cli):
    bad = tmp_path / "notes.json"
    bad.write_text("{}")
    result = run_cli("report", bad, "-o", tmp_path / "r.html")
    assert result.exit_code == EXIT_INPUT
    assert "notes.json: neither a gan-eval run record" in result.output
    assert not (tmp_path / "r.html").exists()


def test_score_html_without_out_still_reports_the_run(tmp_path, run_cli, image_folder):
    html = tmp_path / "one.html"
    result = run_cli("score", image_folder("g", count=5), "-m", "laplacian", "-q", "--html", html)
    assert result.exit_code == 0, result.output
    assert f"report written to {html}" in result.output
    text = html.read_text()
    assert "record not saved: pass --out to keep it" in text and "Sharpness" in text


def test_plugins_lists_the_laplacian_report_section(run_cli):
    result = run_cli("plugins")
    assert "report_section: laplacian-distribution" in result.output


class _Detailed(Metric):
    name, primary = "detailed", "x"

    def __init__(self, details):
        super().__init__()
        self._details = details

    def state_spec(self):
        return {}

    def update(self, state, inputs):
        pass

    def compute(self, generated, reference):
        return {"x": 0.0}

    def details(self, generated, reference):
        if isinstance(self._details, Exception):
            raise self._details
        return self._details


def test_details_are_stored_only_when_given_and_json():
    assert metric_details(_Detailed(None), None, None, "p") == {}
    assert metric_details(_Detailed({"bins": [1, 2]}), None, None, "p") == {"details": {"bins": [1, 2]}}


@pytest.mark.parametrize(
    ("details", "message"),
    [
        ({"x": float("nan")}, "must return JSON data without NaN"),
        ({"x": object()}, "must return JSON data"),
        ({"x": "y" * MAX_DETAILS_CHARS}, "store a summary such as a histogram"),
        (ValueError("bad"), "failed in details\\(\\): ValueError: bad"),
    ],
)
def test_bad_details_name_the_plugin(details, message):
    with pytest.raises(PluginError, match=f"plugin 'mine': .*{message}"):
        metric_details(_Detailed(details), None, None, "mine")
