"""The run record written by ``gan-eval score --out``: its fields, and reading it back."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gan_eval.errors import InputError
from gan_eval.record import SCHEMA, read_record, write_record
from gan_eval.scoring import ScoreConfig
from gan_eval.source import SourceOptions
from gan_eval_plugins.sources.folder import FolderSource
from gan_eval.cli.output import EXIT_INPUT


@pytest.fixture(scope="module")
def recorded_run(tmp_path_factory):
    """A real ``gan-eval score ... --out`` run in a subprocess (so ``command`` is a real command line)."""
    work = tmp_path_factory.mktemp("record")
    rng = np.random.default_rng(0)
    for name, count in (("gen", 5), ("ref", 4)):
        (work / name).mkdir()
        for i in range(count):
            Image.fromarray(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)).save(work / name / f"{i}.png")
    (work / "gen" / "9_bad.png").write_bytes(b"")
    out = work / "run.json"
    args = [
        "score",
        str(work / "gen"),
        "--ref",
        str(work / "ref"),
        "-m",
        "laplacian",
        "--skip-bad",
        "--batch-size",
        "3",
        "--device",
        "cpu",
        "-q",
        "--out",
        str(out),
    ]
    script = Path(sys.executable).with_name("gan-eval")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([str(script), *args], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"record written to {out}" in result.stdout
    return work, args, json.loads(out.read_text())


def test_schema_command_and_config(recorded_run):
    work, args, record = recorded_run
    assert record["schema"] == SCHEMA == "gan-eval-record/1"
    assert record["command"][0].endswith("gan-eval") and record["command"][1:] == args
    config = ScoreConfig.from_dict(record["config"])
    assert config.generated == str(work / "gen") and config.reference == str(work / "ref")
    assert config.metrics == ["laplacian"] and config.batch_size == 3 and config.device == "cpu"
    assert config.source_options["skip_bad"] is True
    assert set(record["config"]) == set(ScoreConfig.__dataclass_fields__)  # everything that determines a score


def test_inputs_have_fingerprint_count_and_skipped(recorded_run):
    work, _, record = recorded_run
    generated, reference = record["inputs"]["generated"], record["inputs"]["reference"]
    assert generated["spec"] == f"folder:{work / 'gen'}" and generated["kind"] == "folder"
    assert generated["count"] == 5 and reference["count"] == 4
    assert generated["skipped"] == [{"item": str(work / "gen" / "9_bad.png"), "reason": "empty file (0 bytes)"}]
    assert reference["skipped"] == []
    expected = FolderSource(str(work / "gen"), SourceOptions(skip_bad=True)).fingerprint()
    assert generated["fingerprint"] == expected and len(expected) == 64
    assert reference["fingerprint"] != generated["fingerprint"]
    assert (generated["height"], generated["width"], generated["channels"]) == (12, 10, 3)


def test_results_have_values_and_params(recorded_run):
    _, _, record = recorded_run
    (result,) = record["results"]
    assert result["name"] == "laplacian" and result["plugin"] == "laplacian"
    assert result["params"]["gray"] in ("opencv4", "opencv5")
    assert set(result["values"]) == {"mean", "std", "median", "ref_mean", "ref_std", "ref_median", "ratio"}
    assert result["values"]["ratio"] == pytest.approx(result["values"]["mean"] / result["values"]["ref_mean"])
    assert result["higher_is_better"] is None and result["primary"] == "mean"


def test_versions_plugins_device_and_times(recorded_run):
    _, _, record = recorded_run
    env = record["environment"]
    assert env["gan-eval"] == metadata.version("gan-eval") and env["torch"] == metadata.version("torch")
    assert {"python", "platform", "numpy", "pluggy"} <= set(env)
    assert any(key.startswith("opencv") for key in env)
    assert {"name": "laplacian", "origin": "built-in"}.items() <= next(p for p in record["plugins"] if p["name"] == "laplacian").items()
    assert record["device"] == "cpu"
    started, finished = (dt.datetime.fromisoformat(record[k]) for k in ("started", "finished"))
    assert started.tzinfo is not None and started <= finished


def test_read_record_round_trips_and_refuses_other_files(recorded_run, tmp_path):
    _, _, record = recorded_run
    path = tmp_path / "copy.json"
    write_record(path, record)
    assert read_record(path) == record
    with pytest.raises(InputError, match="no such file"):
        read_record(tmp_path / "missing.json")
    (tmp_path / "text.json").write_text("not json")
    with pytest.raises(InputError, match="not a JSON run record"):
        read_record(tmp_path / "text.json")
    (tmp_path / "other.json").write_text('{"schema": "something-else"}')
    with pytest.raises(InputError, match="not a gan-eval run record"):
        read_record(tmp_path / "other.json")


def test_a_record_that_cannot_be_written_leaves_the_old_one(tmp_path):
    path = tmp_path / "run.json"
    write_record(path, {"schema": SCHEMA, "results": []})
    old = path.read_text()
    with pytest.raises(ValueError):
        write_record(path, {"schema": SCHEMA, "results": [float("nan")]})  # strict JSON: no NaN
    assert path.read_text() == old and os.listdir(tmp_path) == ["run.json"]


def test_a_failed_run_does_not_touch_an_existing_record(run_cli, tmp_path):
    out = tmp_path / "run.json"
    out.write_text("previous record")
    result = run_cli("score", tmp_path / "missing", "-m", "laplacian", "-q", "--out", out)
    assert result.exit_code == EXIT_INPUT and out.read_text() == "previous record"
