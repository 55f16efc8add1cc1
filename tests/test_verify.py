"""gan-eval verify: a record reproduces on the same machine; a changed input or value fails, named."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner
from PIL import Image

from gan_eval.cli import main


def _folder(path, seed):
    path.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(12):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(path / f"{i:02d}.png")
    return path


def _record(tmp_path):
    gen, ref = _folder(tmp_path / "gen", 0), _folder(tmp_path / "ref", 1)
    out = tmp_path / "run.json"
    result = CliRunner().invoke(main, ["score", str(gen), "--ref", str(ref), "-m", "laplacian", "-q", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return gen, out


def test_verify_passes_on_an_unchanged_record(tmp_path):
    _, out = _record(tmp_path)
    result = CliRunner().invoke(main, ["verify", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert "verified: every value reproduces" in result.output
    assert result.output.count("ok ") == 7  # mean, std, median, ref_*, ratio


def test_verify_fails_and_names_a_changed_input(tmp_path):
    gen, out = _record(tmp_path)
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(gen / "05.png")
    result = CliRunner().invoke(main, ["verify", str(out), "-q"])
    assert result.exit_code == 1
    assert "generated input" in result.output and str(gen) in result.output
    assert "NOT verified" in result.output


def test_verify_fails_on_a_value_that_does_not_reproduce(tmp_path):
    _, out = _record(tmp_path)
    record = json.loads(out.read_text())
    record["results"][0]["values"]["mean"] *= 1.001
    out.write_text(json.dumps(record))
    result = CliRunner().invoke(main, ["verify", str(out), "-q"])
    assert result.exit_code == 1
    assert "DIFF laplacian.mean" in result.output


def test_verify_rejects_a_file_that_is_not_a_record(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    result = CliRunner().invoke(main, ["verify", str(bad)])
    assert result.exit_code != 0
    assert "not a gan-eval run record" in result.output and str(bad) in result.output
