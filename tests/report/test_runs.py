"""Loading runs: record files, sweep manifests (relative paths), clear errors, comparability."""

from __future__ import annotations

import json

import pytest

from gan_eval.errors import InputError
from gan_eval.report.runs import ReportRun, comparability_warnings, load_runs


def test_records_and_a_manifest_with_relative_paths(tmp_path, sweep_records):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "records").mkdir()
    for path in sweep_records[:2]:
        (sweep / "records" / path.name).write_text(path.read_text())
    manifest = sweep / "sweep.json"  # the format 'gan-eval train sweep' / 'sweep-score' writes
    manifest.write_text(
        json.dumps(
            {
                "schema": "gan-eval-sweep/1",
                "runs": [
                    {"label": "the teacher", "checkpoint": "t.pt", "record": f"records/{sweep_records[0].name}"},
                    f"records/{sweep_records[1].name}",
                ],
            }
        )
    )
    runs = load_runs([manifest, sweep_records[2]])
    assert [r.label for r in runs] == ["the teacher", "student-d8", "student-d4"]
    assert runs[0].fact("role") == "teacher" and runs[2].fact("compression_ratio") == 16.0
    assert runs[1].primary("laplacian") == runs[1].record["results"][0]["values"]["mean"]


def test_a_manifest_entry_without_a_record_says_to_score_it(tmp_path):
    manifest = tmp_path / "sweep.json"
    manifest.write_text(json.dumps({"runs": [{"label": "s", "checkpoint": "student-d8.pt"}]}))
    with pytest.raises(InputError, match=r"sweep.json: runs\[0\] \(student-d8.pt\) names no run record: score it first"):
        load_runs([manifest])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ('{"schema": "other"}', "neither a gan-eval run record"),
        ("[1, 2]", "neither a gan-eval run record"),
    ],
)
def test_files_that_are_not_records_are_named(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InputError, match=f"bad.json: {message}"):
        load_runs([path])


def test_missing_file_is_named(tmp_path):
    with pytest.raises(InputError, match="nope.json: no such file"):
        load_runs([tmp_path / "nope.json"])


def test_repeated_labels_become_unique(sweep_records):
    runs = load_runs([sweep_records[0], sweep_records[0], sweep_records[0]])
    assert [r.label for r in runs] == ["teacher-d16", "teacher-d16 #2", "teacher-d16 #3"]


def _run(label, ref="r1", extractor=None, count=10, params=None):
    return ReportRun(
        label,
        {
            "inputs": {"generated": {"count": count}, "reference": {"fingerprint": ref}},
            "extractor": extractor,
            "results": [{"name": "fid@x", "extractor": "x" if extractor else None, "params": params or {}, "values": {}}],
        },
    )


def test_comparability_warnings_name_what_differs():
    same = [_run("a", extractor={"extractor": "x", "sha256": "1"}), _run("b", extractor={"extractor": "x", "sha256": "1"})]
    assert comparability_warnings(same) == []
    notes = comparability_warnings(
        [_run("a", "r1", {"extractor": "x", "sha256": "1"}, 10, {"k": 1}), _run("b", "r2", {"extractor": "x", "sha256": "2"}, 20, {"k": 2})]
    )
    text = "\n".join(notes)
    assert "2 different references" in text
    assert "fid@x: the runs used different feature extractors" in text
    assert "fid@x: the runs used different metric parameters" in text
    assert "different sizes (10, 20 images)" in text
