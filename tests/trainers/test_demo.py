"""``gan-eval demo``: trains, scores and reports end to end (tiny preset)."""

from __future__ import annotations

import json

from trainers.manifest import read_manifest


def test_demo_trains_scores_and_writes_the_report(run_cli, tmp_path):
    out = tmp_path / "demo"
    result = run_cli("demo", "--size", "tiny", "--out", out, "-q")
    assert result.exit_code == 0, result.output
    manifest = read_manifest(out / "sweep.json")
    assert [(r["role"], r["d"]) for r in manifest["runs"]] == [("teacher", 8), ("student", 4)]
    for entry in manifest["runs"]:
        record = json.loads((out / entry["record"]).read_text())
        names = {r["name"].split("@")[0] for r in record["results"]}
        assert {"fid", "is", "kid", "laplacian"} <= names
        assert record["inputs"]["reference"]["spec"] == "dataset:mnist5k:test"
        assert record["inputs"]["generated"]["count"] == 200
    html = (out / "report.html").read_text()
    assert "student-d4-mse" in html and "teacher-d8" in html
    again = run_cli("demo", "--size", "tiny", "--out", out, "-q")  # reuses checkpoints and scores
    assert again.exit_code == 0 and again.output.count("already scored") == 2
