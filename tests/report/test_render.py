"""Rendering: a comparative report from real records, plugin sections, and hostile text kept inert."""

from __future__ import annotations

import json

import pytest

from gan_eval.plugins import load_registry
from gan_eval.report import load_runs, render_report
from gan_eval.report.runs import ReportRun

from report_helpers import HOSTILE, PLUGINS, assert_inert_and_well_formed, parse_page


@pytest.fixture(scope="module")
def contrast_registry():
    return load_registry([PLUGINS / "contrast.py"], autoload=False)


def _cells(page, css_class):
    return [attrs for tag, attrs in page.tags if tag == "td" and css_class in (attrs.get("class") or "").split()]


def test_multi_run_report_has_table_best_marks_grids_sections_and_provenance(sweep_records, contrast_registry):
    runs = load_runs(sweep_records)
    html = render_report(runs, contrast_registry)
    page = assert_inert_and_well_formed(html)
    text = " ".join(page.text)
    # one summary row per run; the teacher (unblurred) has the highest contrast → the only best mark
    contrast = [r.primary("contrast") for r in runs]
    assert contrast.index(max(contrast)) == 0
    assert len(_cells(page, "best")) == 1
    for run in runs:
        assert run.label in text and run.generated["fingerprint"] in text
    # trainer facts and their headers
    for header in ("role", "d", "parameters", "compression"):
        assert header in text
    assert "400,000" in text and "16" in text
    # sample grids: four runs plus the single shared reference; plots and plugin sections
    images = [attrs for tag, attrs in page.tags if tag == "img"]
    grids = [a for a in images if a["alt"].startswith("first ")]
    assert len(grids) == 5
    assert "Metrics across runs" in text and "Sharpness: variance of the Laplacian" in text and "Contrast per run" in text
    assert len(images) >= 5 + 3  # grids + trend plots (vs d, vs compression ratio) + VoL distribution
    # reproducibility: commands, seeds, versions, plugins
    assert "gan-eval" in text and "seed" in text and "torch" in text and "contrast" in text
    assert "Content-Security-Policy" in html and "default-src 'none'" in html


def test_sections_follow_their_order(sweep_records, contrast_registry):
    html = render_report(load_runs(sweep_records), contrast_registry)
    positions = [html.index(title) for title in ("Metrics across runs", "Sharpness: variance of the Laplacian", "Contrast per run", "Reproducibility")]
    assert positions == sorted(positions)


def test_one_run_report_marks_nothing_and_shows_no_trend_plot(sweep_records, contrast_registry):
    html = render_report(load_runs(sweep_records[:1]), contrast_registry)
    page = assert_inert_and_well_formed(html)
    assert _cells(page, "best") == []
    assert "Metrics across runs" not in html and "Sharpness" in html


def _hostile_record(path):
    record = json.loads(path.read_text())
    record["inputs"]["generated"]["spec"] = f"folder:{HOSTILE}/"
    record["inputs"]["generated"]["role"] = HOSTILE
    record["inputs"]["generated"]["skipped"] = [{"item": f"{HOSTILE}.png", "reason": "cannot identify image"}]
    record["warnings"].append(f"warning {HOSTILE}")
    record["command"] = ["gan-eval", "score", f"{HOSTILE}.png"]
    record["plugins"].append({"name": HOSTILE, "version": HOSTILE, "origin": "file"})
    record["results"][0]["name"] = f"laplacian{HOSTILE}"
    record["results"][0]["params"] = {HOSTILE: HOSTILE}
    record["previews"]["generated"]["png"] = '"><script>alert(3)</script>'
    return record


def test_hostile_text_everywhere_stays_text(sweep_records):
    record = _hostile_record(sweep_records[0])
    registry = load_registry([PLUGINS / "hostile.py"], autoload=False)
    html = render_report([ReportRun(HOSTILE, record, HOSTILE), ReportRun("ok", json.loads(sweep_records[1].read_text()))], registry, title=HOSTILE)
    page = assert_inert_and_well_formed(html)
    text = "".join(page.text)
    assert "<script" not in html.replace("&lt;script", "")  # only escaped forms exist in the source
    for shown in (
        f"{HOSTILE}.png",
        f"folder:{HOSTILE}/",
        f"warning {HOSTILE}",
        f"Title {HOSTILE}",
        f"text {HOSTILE}",
        f"cell {HOSTILE}",
        f"caption {HOSTILE}",
        f"boom {HOSTILE}",
        f"laplacian{HOSTILE}",
    ):
        assert shown in text, shown
    # the crashing section is reported, named, and did not stop the report
    assert "plugin 'hostile': section 'broken' failed: RuntimeError" in text
    assert "Reproducibility" in text


def test_a_file_with_a_hostile_name_shows_as_text_end_to_end(tmp_path, run_cli, image_folder):
    folder = image_folder("imgs", count=4)
    (folder / "<img src=x onerror=alert(1)>.png").write_bytes(b"not a png")
    html = tmp_path / "r.html"
    result = run_cli("score", folder, "-m", "laplacian", "--skip-bad", "-q", "--html", html)
    assert result.exit_code == 0, result.output
    page = assert_inert_and_well_formed(html.read_text())
    assert "<img src=x onerror=alert(1)>.png" in "".join(page.text)
    assert [tag for tag, _ in page.tags].count("img") == 1 + 1  # the sample grid and the VoL plot: no injected img


def test_parse_page_detects_broken_nesting():
    assert parse_page("<div><p></div></p>").errors
