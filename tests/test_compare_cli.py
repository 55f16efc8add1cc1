"""``gan-eval compare``: paired differences from saved states, with intervals and p-values."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

REFERENCE = ("--ref", "dataset:mnist5k:train", "--limit-ref", "300")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, mnist_test_digits):
    from click.testing import CliRunner

    from gan_eval.cli import main

    folder = tmp_path_factory.mktemp("compare")
    digits = mnist_test_digits[0][np.random.default_rng(0).permutation(1000)[:400]]
    noisy = np.clip(digits[200:].astype(np.int16) + np.random.default_rng(1).integers(-90, 90, digits[200:].shape), 0, 255).astype(np.uint8)
    sets = {"half_a": digits[:200], "half_b": digits[200:], "worse": noisy}
    records = {}
    for name, images in sets.items():
        np.save(folder / f"{name}.npy", images)
        out = folder / f"{name}.json"
        result = CliRunner().invoke(
            main,
            [
                "score",
                str(folder / f"{name}.npy"),
                *REFERENCE,
                "-m",
                "fid",
                "-m",
                "kid",
                "--out",
                str(out),
                "--save-states",
                "--bootstrap",
                "20",
                "-q",
                "--device",
                "cpu",
            ],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        records[name] = out
    return records


def compare(run_cli, a, b, *extra):
    result = run_cli("compare", a, b, "--json", "--bootstrap", "100", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_two_halves_of_the_same_data_do_not_differ_significantly(run_cli, runs):
    outcome = compare(run_cli, runs["half_a"], runs["half_b"])
    assert outcome["comparable"] and set(outcome["results"]) == {"fid@mnist-cnn", "kid@mnist-cnn"}
    fid = outcome["results"]["fid@mnist-cnn"]["fid"]
    assert fid["low"] <= fid["difference"] <= fid["high"] and fid["low"] < 0 < fid["high"]
    assert not fid["significant"] and fid["p_value"] > 0.05


def test_a_much_worse_set_differs_significantly_and_can_fail_a_pipeline(run_cli, runs):
    outcome = compare(run_cli, runs["half_b"], runs["worse"])
    fid = outcome["results"]["fid@mnist-cnn"]["fid"]
    assert fid["difference"] > 0 and fid["low"] > 0 and fid["significant"] and fid["p_value"] < 0.05
    assert run_cli("compare", runs["half_b"], runs["worse"], "--bootstrap", "50", "--fail-on-difference").exit_code == 1
    text = run_cli("compare", runs["half_b"], runs["worse"], "--bootstrap", "50").output
    assert "fid@mnist-cnn.fid:" in text and "(significant)" in text


def test_runs_without_saved_states_or_with_other_references_are_refused(run_cli, runs, tmp_path):
    record = json.loads(runs["half_a"].read_text())
    record.pop("states_file")
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(record))
    result = run_cli("compare", bare, runs["half_b"])
    assert result.exit_code == 2 and "--save-states" in result.output
    other = json.loads(runs["half_b"].read_text())
    other["inputs"]["reference"]["fingerprint"] = "0" * 64
    moved = tmp_path / "other.json"
    moved.write_text(json.dumps(other))
    outcome = compare(run_cli, runs["half_a"], moved)
    assert not outcome["comparable"] and any("reference" in reason for reason in outcome["reasons"])


def test_every_value_is_printed_and_recorded_with_its_interval_and_verify_reproduces_them(run_cli, tmp_path, mnist_test_digits):
    np.save(tmp_path / "gen.npy", mnist_test_digits[0][:200])
    out = tmp_path / "run.json"
    result = run_cli(
        "score",
        tmp_path / "gen.npy",
        *REFERENCE,
        "-m",
        "fid",
        "-m",
        "laplacian",
        "--bootstrap",
        "50",
        "--ci",
        "0.9",
        "--seed",
        "3",
        "--out",
        out,
        "-q",
        "--device",
        "cpu",
    )
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if line.startswith("fid@mnist-cnn"))
    assert re.fullmatch(r"fid@mnist-cnn\s+fid=[0-9.]+ \[[0-9.e+-]+, [0-9.e+-]+\]", row), row
    fid = json.loads(out.read_text())["results"][0]
    interval = fid["intervals"]["fid"]
    assert set(interval) == {"low", "high", "level", "method", "resamples", "seed"}
    assert interval["level"] == 0.9 and interval["resamples"] == 50 and interval["seed"] == 3
    assert interval["low"] < interval["high"]
    verified = run_cli("verify", out)
    assert verified.exit_code == 0 and "fid@mnist-cnn.fid.low" in verified.output, verified.output
    record = json.loads(out.read_text())
    record["results"][0]["intervals"]["fid"]["high"] *= 1.01
    (tmp_path / "tampered.json").write_text(json.dumps(record))
    tampered = run_cli("verify", tmp_path / "tampered.json")
    assert tampered.exit_code == 1 and "DIFF fid@mnist-cnn.fid.high" in tampered.output
