"""One run, four feature spaces: fid@mnist-cnn, fid@dinov2-vits14, prdc@dinov2-vits14 and
cmmd@clip-vitb32 (stand-in weights) end to end into the record and the HTML report."""

from __future__ import annotations

import json

import numpy as np


def test_one_run_binds_metrics_to_four_extractors_into_record_and_report(run_cli, tmp_path, mnist_test_digits, dinov2_standin, clip_standin):
    np.save(tmp_path / "gen.npy", mnist_test_digits[0][:24])
    np.save(tmp_path / "ref.npy", mnist_test_digits[0][500:524])
    out, html = tmp_path / "run.json", tmp_path / "run.html"
    result = run_cli(
        "score",
        tmp_path / "gen.npy",
        "--ref",
        tmp_path / "ref.npy",
        "-m",
        "fid@mnist-cnn",
        "-m",
        "fid@dinov2-vits14",
        "-m",
        "prdc@dinov2-vits14",
        "-m",
        "cmmd@clip-vitb32",
        "-O",
        f"dinov2-vits14.weights={dinov2_standin}",
        "-O",
        f"clip-vitb32.weights={clip_standin}",
        "-O",
        "clip-vitb32.allow_nonstandard=true",
        "--out",
        out,
        "--html",
        html,
        "-q",
        "--device",
        "cpu",
        "--batch-size",
        "12",
    )
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text())
    by_name = {r["name"]: r for r in record["results"]}
    assert set(by_name) == {"fid@mnist-cnn", "fid@dinov2-vits14", "prdc@dinov2-vits14", "cmmd@clip-vitb32"}
    assert {name: r["extractor"] for name, r in by_name.items()} == {
        "fid@mnist-cnn": "mnist-cnn",
        "fid@dinov2-vits14": "dinov2-vits14",
        "prdc@dinov2-vits14": "dinov2-vits14",
        "cmmd@clip-vitb32": "clip-vitb32",
    }
    assert set(record["extractors"]) == {"mnist-cnn", "dinov2-vits14", "clip-vitb32"}
    assert record["extractors"]["dinov2-vits14"]["weights_sha256"] and record["extractors"]["clip-vitb32"]["weights_sha256"]
    assert all(np.isfinite(v) for r in by_name.values() for v in r["values"].values())
    page = html.read_text()
    for name in by_name:
        assert name in page
