"""The library face: evaluate(), Evaluator, options that apply to nothing, several extractors in one pass."""

from __future__ import annotations

import json
import random
import runpy
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import gan_eval
from gan_eval.errors import UsageError
from gan_eval.memory import GeneratorSource, TensorSource, callable_fingerprint

REFERENCE = "dataset:mnist5k:train"
DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def digits(mnist_test_digits):
    return torch.from_numpy(np.ascontiguousarray(mnist_test_digits[0][:96]))  # uint8 N×28×28


def close(a: dict, b: dict, rel: float) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == pytest.approx(b[key], rel=rel, abs=1e-12), key


def test_a_uint8_tensor_scores_like_the_same_images_written_as_pngs(digits, tmp_path, run_cli):
    folder = tmp_path / "png"
    folder.mkdir()
    for i, image in enumerate(digits.numpy()):
        Image.fromarray(image).save(folder / f"{i:03d}.png")
    metrics = ["fid", "kid", "is", "laplacian"]
    ours = gan_eval.evaluate(digits[:, None], REFERENCE, metrics, limit_ref=200, device="cpu")  # N×1×H×W
    cli = run_cli("score", folder, "--ref", REFERENCE, *sum((["-m", m] for m in metrics), []), "--limit-ref", "200", "--json", "-q", "--device", "cpu")
    assert cli.exit_code == 0, cli.output
    printed = {f"{r['name']}.{k}": v for r in json.loads(cli.stdout)["results"] for k, v in r["values"].items()}
    close(ours.values, printed, rel=1e-12)
    assert set(ours) == {"fid@mnist-cnn", "kid@mnist-cnn", "is@mnist-cnn", "laplacian"}
    assert ours["fid@mnist-cnn"]["fid"] == ours.values["fid@mnist-cnn.fid"]
    assert ours.record["inputs"]["reference"]["limit"] == 200 and ours.record["inputs"]["reference"]["count"] == 200
    assert json.loads(ours.to_json())["results"] == ours.record["results"]
    assert any("not the standard Inception" in w for w in ours.warnings)


def test_an_evaluator_fed_ten_batches_equals_one_evaluate_on_their_union(digits):
    metrics = ["fid", "kid", "laplacian"]
    whole = gan_eval.evaluate(digits, REFERENCE, metrics, limit_ref=200, device="cpu")
    evaluator = gan_eval.Evaluator(metrics, REFERENCE, limit_ref=200, device="cpu")
    for _ in range(2):  # reset() forgets the generated images, keeps the reference
        evaluator.reset()
        for batch in digits.chunk(10):
            evaluator.update(batch.float().div(127.5).sub(1.0))  # floats in [-1, 1], as a generator gives
        streamed, expected = dict(evaluator.compute().values), dict(whole.values)
        fid = streamed.pop("fid@mnist-cnn.fid")
        assert fid == pytest.approx(expected.pop("fid@mnist-cnn.fid"), rel=1e-9)  # float64 summation order only
        close(streamed, expected, rel=1e-12)


def test_the_callers_rng_states_grad_mode_and_tf32_flags_are_left_alone(digits):
    torch.manual_seed(123)
    np.random.seed(123)
    random.seed(123)
    torch.set_grad_enabled(True)
    tf32 = torch.backends.cuda.matmul.allow_tf32
    before = (torch.get_rng_state(), np.random.get_state(), random.getstate())
    evaluator = gan_eval.Evaluator(["kid", "is", "laplacian"], REFERENCE, limit_ref=100, device="cpu", seed=5)
    evaluator.update(digits[:40])
    evaluator.compute()
    gan_eval.evaluate(digits[:40], REFERENCE, ["kid"], limit_ref=100, device="cpu")
    assert torch.equal(torch.get_rng_state(), before[0])
    assert np.array_equal(np.random.get_state()[1], before[1][1]) and np.random.get_state()[2] == before[1][2]
    assert random.getstate() == before[2]
    assert torch.is_grad_enabled() and torch.backends.cuda.matmul.allow_tf32 == tf32


class CountingSource(TensorSource):
    reads = 0

    def read(self, start, stop):
        CountingSource.reads += stop - start
        return super().read(start, stop)


def test_two_extractors_in_one_pass_equal_two_runs_and_decode_each_image_once(digits):
    separate = {}
    for extractor in ("mnist-cnn", "fashion-cnn"):
        separate.update(gan_eval.evaluate(digits, REFERENCE, [f"fid@{extractor}", f"kid@{extractor}"], limit_ref=150, device="cpu").values)
    CountingSource.reads = 0
    source = CountingSource(digits)
    one = gan_eval.evaluate(source, REFERENCE, ["fid@mnist-cnn", "fid@fashion-cnn", "kid@mnist-cnn", "kid@fashion-cnn"], limit_ref=150, device="cpu")
    close(one.values, separate, rel=1e-12)
    assert CountingSource.reads == len(digits)  # every image read (decoded) exactly once for both networks
    assert set(one.record["extractors"]) == {"mnist-cnn", "fashion-cnn"}
    assert {r["name"]: r["extractor"] for r in one.record["results"]}["fid@fashion-cnn"] == "fashion-cnn"


def test_an_extractor_option_for_an_extractor_the_run_does_not_use_is_an_error(digits):
    with pytest.raises(UsageError, match=r"fashion-cnn\.weights: extractor fashion-cnn is not used by this run \(extractors used: mnist-cnn\)"):
        gan_eval.evaluate(digits, REFERENCE, ["fid"], options={"fashion-cnn.weights": "/x.pt"}, limit_ref=50, device="cpu")
    with pytest.raises(gan_eval.GanEvalError, match="/nonexistent.pt"):  # applied to auto's choice, not ignored
        gan_eval.evaluate(digits, REFERENCE, ["fid"], options={"mnist-cnn.weights": "/nonexistent.pt"}, limit_ref=50, device="cpu")
    with pytest.raises(UsageError, match="'kdi' is neither a metric nor a feature extractor"):
        gan_eval.evaluate(digits, REFERENCE, ["kid"], options={"kdi.subsets": 3}, device="cpu")


def test_cli_options_that_apply_to_nothing_fail_naming_them(run_cli, tmp_path):
    result = run_cli(
        "score", "dataset:mnist5k:test", "--ref", REFERENCE, "-m", "fid", "--limit", "20", "--limit-ref", "20", "-O", "mnist-cnn.weights=/nonexistent.pt", "-q"
    )
    assert result.exit_code != 0 and "/nonexistent.pt" in result.output
    result = run_cli("score", "dataset:mnist5k:test", "-m", "laplacian", "--limit", "5", "--source-option", "lyout=NCHW", "-q")
    assert result.exit_code == 2 and "--source-option lyout: not read by the sources of this run (dataset:)" in result.output
    result = run_cli("score", "", "-m", "laplacian", "-q")
    assert result.exit_code == 2 and "empty source spec" in result.output


def test_a_generator_callables_fingerprint_follows_its_weights():
    net = torch.nn.Sequential(torch.nn.Linear(8, 3 * 4 * 4), torch.nn.Tanh(), torch.nn.Unflatten(1, (3, 4, 4)))
    first = callable_fingerprint(net)
    assert callable_fingerprint(net) == first
    with torch.no_grad():
        net[0].bias.add_(1e-3)
    assert callable_fingerprint(net) != first
    source = GeneratorSource(net, 8, 100)
    batch = source.read(60, 70).images  # crosses a latent block: image i depends only on (seed, i)
    assert batch.shape == (10, 3, 4, 4) and np.array_equal(batch, np.concatenate([source.read(60, 64).images, source.read(64, 70).images]))


def test_a_generator_callable_is_scored_from_python():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(16, 28 * 28), torch.nn.Tanh(), torch.nn.Unflatten(1, (1, 28, 28)))
    result = gan_eval.evaluate(net, REFERENCE, ["fid", "laplacian"], latent=16, count=70, limit_ref=80, device="cpu")
    assert result.record["inputs"]["generated"]["count"] == 70 and result.record["config"]["generated"].startswith("memory:")
    again = gan_eval.evaluate(net, REFERENCE, ["fid", "laplacian"], latent=16, count=70, limit_ref=80, device="cpu")
    assert again.values == result.values


def test_the_training_loop_example_in_the_docs_runs():
    example = runpy.run_path(str(DOCS / "examples" / "training_loop.py"))
    torch.manual_seed(0)
    best, state = example["train"](example["TinyGenerator"](), steps=4, every=2, num=64)
    assert np.isfinite(best) and best > 0 and set(state) == {"net.0.weight", "net.0.bias"}


def test_plugins_lists_every_parameter_with_type_default_and_meaning(run_cli):
    result = run_cli("plugins")
    assert result.exit_code == 0, result.output
    assert "-O kid.subsets=<int>  (default 100)" in result.output
    assert "-O inception.weights=<str>" in result.output
    listed = json.loads(run_cli("plugins", "--json").stdout)
    items = {item["name"]: item for plugin in listed for item in plugin["items"]}
    assert {p["name"] for p in items["kid"]["params"]} >= {"subsets", "subset_size", "seed"}
    assert {o["name"] for o in items["folder"]["source_options"]} == {"layout"}


def test_a_plugin_class_missing_a_method_fails_at_registration_naming_the_plugin(tmp_path, run_cli):
    plugin = tmp_path / "half_done.py"
    plugin.write_text(
        "import gan_eval\n\n"
        "class Half(gan_eval.Metric):\n"
        "    name, primary = 'half', 'x'\n\n"
        "    def state_spec(self):\n"
        "        return {}\n\n"
        "@gan_eval.hookimpl\n"
        "def register_metrics():\n"
        "    return [Half]\n"
    )
    result = run_cli("plugins", "--plugin", plugin)
    assert result.exit_code == 4 and "plugin 'half_done'" in result.output
    assert "leaves abstract method(s) unimplemented: compute, update" in result.output and "Traceback" not in result.output
