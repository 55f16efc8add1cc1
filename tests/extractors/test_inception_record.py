"""`gan-eval score --extractor inception`: parameters reach the extractor and the record says which
network, which weights (SHA-256) and which preprocessing produced the numbers."""

from __future__ import annotations

import hashlib
import json
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from gan_eval.cli import main

PLUGIN = textwrap.dedent('''
    import gan_eval
    from gan_eval.metric import Metric

    class FeatureMean(Metric):
        """Mean of the features and of the logits: enough to see the extractor's outputs in a record."""
        name = "featmean"
        requires = frozenset({"features", "logits"})
        reference = "unused"
        primary = "features"

        def state_spec(self):
            return {"features": "cat", "logits": "cat"}

        def update(self, state, inputs):
            state.append("features", inputs["features"])
            state.append("logits", inputs["logits"])

        def compute(self, generated, reference):
            f, l = generated.get("features"), generated.get("logits")
            return {"features": float(f.mean()), "logits": float(l.abs().mean()),
                    "feature_dim": f.shape[1], "logit_dim": l.shape[1]}

    @gan_eval.hookimpl
    def register_metrics():
        return [FeatureMean]
''')


pytestmark = pytest.mark.usefixtures("isolated_inception_env")


@pytest.fixture
def setup(tmp_path, standin_weights):
    weights = standin_weights
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    plugin = tmp_path / "featmean_plugin.py"
    plugin.write_text(PLUGIN)
    return weights, folder, plugin


def score(tmp_path, folder, plugin, *options):
    out = tmp_path / "record.json"
    result = CliRunner().invoke(
        main,
        [
            "score",
            str(folder),
            "-m",
            "featmean",
            "--extractor",
            "inception",
            "--plugin",
            str(plugin),
            "--device",
            "cpu",
            "-q",
            "--no-cache",
            "--out",
            str(out),
            *options,
        ],
    )
    return result, (json.loads(out.read_text()) if out.exists() else None)


def test_record_names_extractor_weights_hash_and_profile(tmp_path, setup):
    weights, folder, plugin = setup
    result, record = score(
        tmp_path, folder, plugin, "-O", f"inception.weights={weights}", "-O", "inception.allow_nonstandard=true", "-O", "inception.profile=clean"
    )
    assert result.exit_code == 0, result.output
    extractor = record["extractor"]
    assert extractor["extractor"] == "inception"
    assert extractor["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert extractor["profile"] == "clean"
    assert extractor["standard"] is False  # the stand-in is not the standard file
    assert "NOT the standard Inception" in result.output
    assert any("not the standard Inception" in w for w in record["warnings"])
    (values,) = [r["values"] for r in record["results"] if r["name"] == "featmean@inception"]
    assert values["feature_dim"] == 2048 and values["logit_dim"] == 1008


def test_nonstandard_weights_are_refused_on_the_command_line(tmp_path, setup):
    weights, folder, plugin = setup
    result, record = score(tmp_path, folder, plugin, "-O", f"inception.weights={weights}")
    assert result.exit_code != 0 and record is None
    assert "allow_nonstandard" in result.output and str(weights) in result.output


def test_missing_weights_on_the_command_line_say_where_to_put_them(tmp_path, setup):
    _, folder, plugin = setup
    result, _ = score(tmp_path, folder, plugin)
    assert result.exit_code != 0
    assert "standard Inception weights not found" in result.output and "hub" in result.output
