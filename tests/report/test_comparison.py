"""The comparison table: every run's difference to a baseline, with the paired interval of
gan_eval.compare when both records saved their states, and a plain difference otherwise."""

from __future__ import annotations

from html import unescape

import pytest

from gan_eval import api
from gan_eval.errors import UsageError
from gan_eval.report import render_report
from gan_eval.report.comparison import ComparisonSection
from gan_eval.report.runs import load_runs

from report_helpers import table_starting

#: paired resamples in these tests (the report's default is compare's, 200; each is a full FID pair)
RESAMPLES = 30


def _table(html: str) -> list[list[str]]:
    return table_starting(html, "run", "value")


def test_paired_intervals_come_from_compare_and_stateless_runs_get_none(fid_records):
    paths = [fid_records["mnist"], fid_records["noise"], fid_records["stateless"]]
    runs = load_runs(paths)
    paired = lambda a, b: api.compare(a.origin, b.origin, resamples=RESAMPLES)  # noqa: E731  what api.write_report passes (with 200)
    html = unescape(render_report(runs, paired=paired))
    rows = _table(html)
    assert [r[0] for r in rows] == ["noise", "stateless"]
    expected = api.compare(paths[0], paths[1], resamples=RESAMPLES)["results"]["fid@mnist-cnn"]["fid"]
    noise = rows[0]
    assert noise[1] == "fid@mnist-cnn.fid"
    assert float(noise[4].replace(",", "")) == pytest.approx(expected["difference"], rel=1e-3)
    assert noise[5] == f"[{expected['low']:.4g}, {expected['high']:.4g}]"
    assert expected["significant"] and noise[6].startswith("significant")  # noise is far worse than MNIST
    stateless = rows[1]
    assert stateless[5] == "–" and stateless[6] == "no interval (see below)"
    assert float(stateless[4].replace(",", "")) == pytest.approx(runs[2].primary("fid@mnist-cnn") - runs[0].primary("fid@mnist-cnn"), rel=1e-3)
    assert "stateless: the difference can't be given an interval: stateless saved no states (score with --out and --save-states)" in html


def test_the_baseline_can_be_named_and_an_unknown_one_is_a_usage_error(fid_records):
    runs = load_runs([fid_records["mnist"], fid_records["stateless"]])
    html = render_report(runs, baseline="stateless")
    rows = _table(html)
    assert [r[0] for r in rows] == ["mnist"] and "Baseline: stateless." in html
    with pytest.raises(UsageError, match="--baseline 'nope': no run has that label"):
        render_report(runs, baseline="nope")


def test_runs_over_another_reference_are_not_compared(fid_records, interval_sweep):
    runs = load_runs([fid_records["mnist"], interval_sweep[0]])
    assert not ComparisonSection().applies(runs)
    runs = load_runs([fid_records["mnist"], fid_records["stateless"], interval_sweep[0]])
    html = render_report(runs)
    assert "Not compared (a different reference than the baseline's, or none): teacher-d16." in unescape(html)


def test_report_cli_takes_a_baseline(fid_records, tmp_path, run_cli):
    out = tmp_path / "r.html"
    result = run_cli("report", fid_records["mnist"], fid_records["stateless"], "-o", out, "--baseline", "stateless")
    assert result.exit_code == 0, result.output
    assert "Baseline: stateless." in out.read_text()
    result = run_cli("report", fid_records["mnist"], fid_records["stateless"], "-o", tmp_path / "x.html", "--baseline", "nope")
    assert result.exit_code != 0 and "no run has that label" in result.output and not (tmp_path / "x.html").exists()
