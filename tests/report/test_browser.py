"""The report in a real browser: headless Chromium opens it from disk, offline.

Checks what a reader depends on: no console errors, no request other than the file itself and its
embedded data: images, the summary table and every image present and decoded (through the DOM), no
script element at all. A screenshot is left in test-artifacts/report.png for a human to look at.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from report_browser import chromium_missing, start_chromium
from report_helpers import HOSTILE, PLUGINS

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
EXAMPLE_PLUGIN = Path(__file__).resolve().parents[2] / "docs" / "examples" / "report_section_plugin.py"


@pytest.fixture(scope="module")
def browser():
    reason = chromium_missing()
    if reason:
        pytest.skip(f"headless Chromium unavailable: {reason}")
    driver = start_chromium()
    yield driver
    driver.quit()


def _requested_urls(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] in ("Network.requestWillBeSent", "Network.webSocketCreated"):
            urls.append(message["params"].get("request", {}).get("url") or message["params"].get("url", ""))
    return urls


def test_multi_run_report_in_headless_chromium(browser, sweep_records, tmp_path, run_cli):
    # one record with a hostile warning, to see that it renders as text in a real browser too
    hostile = tmp_path / "hostile-run.json"
    record = json.loads(sweep_records[3].read_text())
    record["warnings"].append(f"{HOSTILE} in a warning")
    hostile.write_text(json.dumps(record))
    report = tmp_path / "report.html"
    result = run_cli("report", *sweep_records[:3], hostile, "-o", report, "--plugin", PLUGINS / "contrast.py", "--plugin", EXAMPLE_PLUGIN)
    assert result.exit_code == 0, result.output

    browser.get_log("browser"), browser.get_log("performance")  # start from empty logs
    browser.get(report.resolve().as_uri())
    assert browser.execute_script("return document.readyState") == "complete"

    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []
    urls = _requested_urls(browser)
    assert urls and all(u.startswith(("file://", "data:")) for u in urls), urls
    assert any(u.startswith("data:image/png") for u in urls)

    dom = browser.execute_script("""
        const rows = [...document.querySelectorAll('table.summary tbody tr')];
        return {
          scripts: document.querySelectorAll('script').length,
          rows: rows.map(r => r.querySelector('td.run').firstChild.textContent.trim()),
          headers: [...document.querySelectorAll('table.summary thead th')].map(th => th.textContent.trim()),
          best: [...document.querySelectorAll('table.summary td.best')].length,
          images: [...document.images].map(i => [i.complete, i.naturalWidth, i.alt]),
          warnings: document.querySelector('#warnings') ? document.querySelector('#warnings').innerText : '',
          sections: [...document.querySelectorAll('section h2')].map(h => h.textContent),
        };""")
    assert dom["scripts"] == 0
    assert dom["rows"] == ["teacher-d16", "student-d8", "student-d4", "hostile-run"]
    assert any(h.startswith("laplacian") for h in dom["headers"]) and any(h.startswith("contrast") for h in dom["headers"])
    assert dom["best"] == 1
    assert len(dom["images"]) >= 5 + 4  # 4 runs + reference grids; trend plots, VoL plot, timing plot
    assert all(complete and width > 0 for complete, width, _ in dom["images"]), dom["images"]
    assert f"{HOSTILE} in a warning" in dom["warnings"]
    assert "Run time" in dom["sections"] and "Sharpness: variance of the Laplacian" in dom["sections"]

    ARTIFACTS.mkdir(exist_ok=True)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(height + 40, 8000))
    assert browser.save_screenshot(str(ARTIFACTS / "report.png"))
