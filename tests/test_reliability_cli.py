"""Reliability round 2, the classes that live in scoring, verify, outputs and the CLI: each test
tries what an adversarial user would and checks the clear error (or the right number) they get."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from gan_eval.cli.output import EXIT_CHECK_FAILED, EXIT_INPUT, EXIT_PLUGIN, EXIT_USAGE

SMALL = ("--limit", "60", "-q", "--device", "cpu")
REF = ("--ref", "dataset:mnist5k:train", "--limit-ref", "80")


@pytest.fixture(scope="module")
def digits_npy(tmp_path_factory, mnist_test_digits):
    path = tmp_path_factory.mktemp("rel") / "digits.npy"
    np.save(path, mnist_test_digits[0][:60])
    return path


def test_a_stats_files_extractor_wins_over_auto(run_cli, tmp_path, digits_npy):
    stats = tmp_path / "fashion-space.npz"
    made = run_cli("stats", "dataset:mnist5k:train", "-o", stats, "-m", "fid", "--extractor", "fashion-cnn", "--limit", "80", "-q")
    assert made.exit_code == 0, made.output
    result = run_cli("score", digits_npy, "--ref", f"stats:{stats}", "-m", "fid", "--json", *SMALL)
    assert result.exit_code == 0, result.output  # auto alone would pick mnist-cnn for digits and fail
    record = json.loads(result.stdout)
    assert record["results"][0]["name"] == "fid@fashion-cnn"
    assert any("the extractor" in w and "fashion-cnn" in w for w in record["warnings"])


def test_default_metrics_against_a_fid_only_stats_file_run_what_it_supports(run_cli, tmp_path, digits_npy):
    stats = tmp_path / "fid-only.npz"
    assert run_cli("stats", "dataset:mnist5k:train", "-o", stats, "-m", "fid", "--limit", "80", "-q").exit_code == 0
    result = run_cli("score", digits_npy, "--ref", f"stats:{stats}", "--json", *SMALL)
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    names = {r["name"] for r in record["results"]}
    assert "fid@mnist-cnn" in names and "laplacian" in names and "kid@mnist-cnn" not in names
    assert any("kid@mnist-cnn left out" in w for w in record["warnings"])


def test_verify_fails_when_results_or_values_were_deleted(run_cli, tmp_path, digits_npy):
    out = tmp_path / "run.json"
    assert run_cli("score", digits_npy, *REF, "-m", "fid", "-m", "laplacian", "--out", out, *SMALL).exit_code == 0
    record = json.loads(out.read_text())
    without_result = {**record, "results": [r for r in record["results"] if r["name"] != "laplacian"]}
    (tmp_path / "a.json").write_text(json.dumps(without_result))
    failed = run_cli("verify", tmp_path / "a.json", "-q")
    assert failed.exit_code == EXIT_CHECK_FAILED and "'laplacian' of the recorded config has no result" in failed.output
    record["results"][1]["values"].pop("median")
    (tmp_path / "b.json").write_text(json.dumps(record))
    failed = run_cli("verify", tmp_path / "b.json", "-q")
    assert failed.exit_code == EXIT_CHECK_FAILED and "laplacian.median is computed by the recorded config but missing" in failed.output
    ok = run_cli("verify", out, "-q")
    assert ok.exit_code == 0 and "reference cache not used" in ok.output


def test_verify_recomputes_without_the_cache_unless_asked(monkeypatch):
    from gan_eval import verify as verify_module

    record = {
        "config": {"generated": "dataset:mnist5k:test", "metrics": ["laplacian"], "use_cache": True},
        "inputs": {},
        "results": [{"name": "laplacian", "values": {}}],
    }
    seen = []

    class Rerun:
        record = {"results": [{"name": "laplacian", "values": {}}]}

    def rerun(registry, config):
        seen.append(config.use_cache)
        return Rerun()

    for allowed in (False, True):
        verify_module.verify(json.loads(json.dumps(record)), rerun, use_cache=allowed)
    assert seen == [False, True]


def test_outputs_are_checked_before_the_run_and_never_destroy_inputs(run_cli, tmp_path, digits_npy):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = run_cli("score", digits_npy, "-m", "laplacian", "--out", blocker / "run.json", *SMALL)
    assert result.exit_code == EXIT_USAGE and "is not a folder" in result.output
    same = tmp_path / "same"
    result = run_cli("score", digits_npy, "-m", "laplacian", "--out", same, "--html", same, *SMALL)
    assert result.exit_code == EXIT_USAGE and "are the same file" in result.output
    before = digits_npy.read_bytes()
    result = run_cli("score", digits_npy, "-m", "laplacian", "--out", digits_npy, *SMALL)
    assert result.exit_code == EXIT_USAGE and "would destroy the input" in result.output
    assert digits_npy.read_bytes() == before
    result = run_cli("stats", digits_npy, "-o", digits_npy, "-m", "fid", "-q")
    assert result.exit_code == EXIT_USAGE and digits_npy.read_bytes() == before


PLUGIN = """
import sys
import gan_eval

class Odd(gan_eval.Metric):
    name, primary, reference = "{name}", "x", "unused"

    def state_spec(self):
        return {{"n": "sum"}}

    def update(self, state, inputs):
        state.add("n", len(inputs["images"]))

    def compute(self, generated, reference):
        {body}

@gan_eval.hookimpl
def register_metrics():
    return [Odd]
"""


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('return {"x": "many"}', "value 'x' is not a number"),
        ("return 3.0", "must return a non-empty dict of numbers"),
        ("sys.exit(0)", "called sys.exit(0)"),
    ],
)
def test_a_plugin_returning_nonsense_or_exiting_is_a_plugin_error(run_cli, tmp_path, digits_npy, body, message):
    plugin = tmp_path / "odd_metric.py"
    plugin.write_text(textwrap.dedent(PLUGIN.format(name="odd", body=body)))
    result = run_cli("score", digits_npy, "-m", "odd", "--plugin", plugin, "--out", tmp_path / "o.json", *SMALL)
    assert result.exit_code == EXIT_PLUGIN and message in result.output, result.output
    assert not (tmp_path / "o.json").exists()


@pytest.mark.parametrize("device", ["mps", "xpu", "warp"])
def test_devices_this_build_lacks_are_usage_errors(run_cli, digits_npy, device):
    result = run_cli("score", digits_npy, "-m", "laplacian", "--limit", "5", "-q", "--device", device)
    assert result.exit_code == EXIT_USAGE and "--device" in result.output and device in result.output


def test_deeply_nested_or_malformed_records_are_input_errors_naming_the_file(run_cli, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    for command in (("verify", deep), ("report", deep, "-o", tmp_path / "r.html")):
        result = run_cli(*command)
        assert result.exit_code == EXIT_INPUT and "deep.json" in result.output and "Traceback" not in result.output
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"schema": "gan-eval-record/1", "config": 3}))
    result = run_cli("verify", broken)
    assert result.exit_code == EXIT_INPUT and "broken.json" in result.output


def test_the_report_compares_what_the_reference_is_not_how_it_was_named(run_cli, tmp_path, digits_npy):
    stats = tmp_path / "ref.npz"
    assert run_cli("stats", "dataset:mnist5k:train", "-o", stats, "-m", "fid", "--limit", "80", "-q").exit_code == 0
    direct, via_stats = tmp_path / "direct.json", tmp_path / "stats.json"
    assert run_cli("score", digits_npy, *REF, "-m", "fid", "--out", direct, *SMALL).exit_code == 0
    assert run_cli("score", digits_npy, "--ref", f"stats:{stats}", "-m", "fid", "--out", via_stats, *SMALL).exit_code == 0
    from gan_eval.report.runs import comparability_warnings, load_runs

    assert not [w for w in comparability_warnings(load_runs([direct, via_stats])) if "different references" in w]
