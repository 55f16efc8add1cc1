"""The gan-eval command line: score and plugins, their options, output and error messages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from gan_eval import __version__
from gan_eval.cli import score_command
from gan_eval.cli.output import EXIT_INPUT, EXIT_USAGE

REPO = Path(__file__).resolve().parents[1]


def score_json(run_cli, *args) -> list[dict]:
    result = run_cli("score", *args, "--json", "-q", "--device", "cpu")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["results"]


def laplacian_values(run_cli, *args) -> dict[str, float]:
    (entry,) = score_json(run_cli, *args, "-m", "laplacian")
    return entry["values"]


def opencv_mean_vol(folder: Path) -> float:
    values = [cv2.Laplacian(cv2.cvtColor(np.asarray(Image.open(p).convert("RGB")), cv2.COLOR_RGB2GRAY), cv2.CV_64F).var() for p in sorted(folder.glob("*.png"))]
    return float(np.mean(values))


def test_score_prints_inputs_and_a_table(run_cli, image_folder):
    gen, ref = image_folder("gen", count=6, seed=1), image_folder("ref", count=4, seed=2)
    result = run_cli("score", gen, "--ref", ref, "-m", "laplacian", "-q", "--device", "cpu")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"generated: folder:{gen}  (6 images)"
    assert lines[1] == f"reference: folder:{ref}  (4 images)"
    row = next(line for line in lines if line.startswith("laplacian "))
    values = dict(item.split("=") for item in row.split()[1:])
    assert list(values) == ["mean", "std", "median", "ref_mean", "ref_std", "ref_median", "ratio"]
    assert float(values["mean"]) == pytest.approx(opencv_mean_vol(gen), rel=1e-5)  # printed with 6 digits


def test_json_results_carry_name_values_params_and_plugin(run_cli, image_folder):
    folder = image_folder(count=5)
    (entry,) = score_json(run_cli, folder, "-m", "laplacian")
    assert entry["name"] == "laplacian" and entry["metric"] == "laplacian" and entry["plugin"] == "laplacian"
    assert entry["primary"] == "mean" and set(entry["params"]) == {"gray"}
    assert entry["values"]["mean"] == pytest.approx(opencv_mean_vol(folder), rel=1e-12)


def test_metric_parameters_are_set_with_O(run_cli, image_folder):
    folder = image_folder(count=3)
    (entry,) = score_json(run_cli, folder, "-m", "laplacian", "-O", "laplacian.gray=opencv4")
    assert entry["params"] == {"gray": "opencv4"}


def test_results_do_not_depend_on_batch_size_or_workers(run_cli, image_folder):
    folder = image_folder(count=9)
    reference = laplacian_values(run_cli, folder, "--batch-size", "64")
    assert laplacian_values(run_cli, folder, "--batch-size", "1") == reference
    assert laplacian_values(run_cli, folder, "--batch-size", "4", "--workers", "1") == reference


def test_limit_uses_the_first_images(run_cli, image_folder):
    folder = image_folder(count=6)
    limited = laplacian_values(run_cli, folder, "--limit", "2")
    for path in sorted(folder.iterdir())[2:]:
        path.unlink()
    assert laplacian_values(run_cli, folder) == limited


def test_mixed_sizes_need_resize(run_cli, image_folder):
    folder = image_folder(count=2, size=(16, 16))
    Image.fromarray(np.zeros((20, 12, 3), np.uint8)).save(folder / "zz.png")
    result = run_cli("score", folder, "-m", "laplacian", "-q")
    assert result.exit_code == EXIT_INPUT and "zz.png: image is 20×12 but the first image is 16×16" in result.output
    assert "Traceback" not in result.output
    assert run_cli("score", folder, "-m", "laplacian", "-q", "--resize", "first").exit_code == 0
    assert run_cli("score", folder, "-m", "laplacian", "-q", "--resize", "16x16").exit_code == 0


def test_skip_bad_is_reported_in_the_output(run_cli, image_folder):
    folder = image_folder(count=3)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    failed = run_cli("score", folder, "-m", "laplacian", "-q")
    assert failed.exit_code == EXIT_INPUT and f"{folder / 'broken.png'}: cannot decode" in failed.output
    result = run_cli("score", folder, "-m", "laplacian", "-q", "--skip-bad")
    assert result.exit_code == 0 and f"folder:{folder}  (3 images, 1 skipped)" in result.output


def test_range_and_source_options_reach_array_sources(run_cli, tmp_path):
    ambiguous = np.random.default_rng(0).integers(0, 256, (4, 3, 8, 3), dtype=np.uint8)
    path = tmp_path / "x.npz"
    np.savez(path, a=ambiguous, b=ambiguous)
    failed = run_cli("score", path, "-m", "laplacian", "-q")
    assert failed.exit_code == EXIT_INPUT and "key=NAME" in failed.output
    failed = run_cli("score", path, "-m", "laplacian", "-q", "--source-option", "key=a")
    assert failed.exit_code == EXIT_INPUT and "layout=NHWC or layout=NCHW" in failed.output
    chosen = laplacian_values(run_cli, path, "--source-option", "key=a", "--source-option", "layout=NCHW")
    floats = tmp_path / "f.npy"
    np.save(floats, ambiguous.astype(np.float64) / 127.5 - 1)
    assert laplacian_values(run_cli, f"npy:{floats}", "--source-option", "layout=NCHW", "--range=-1,1") == chosen


def test_a_dataset_spec_scores(run_cli):
    values = laplacian_values(run_cli, "dataset:mnist5k:test", "--limit", "20")
    from gan_eval_plugins.laplacian import variance_of_laplacian
    from gan_eval_plugins.sources.datasets import interleave_classes, load_dataset

    images, labels = load_dataset("mnist5k", "test")
    first_20 = images[interleave_classes(labels)][:20]  # the source's (class-interleaved) order
    digits = torch.from_numpy(np.repeat(first_20[:, None], 3, axis=1))
    assert values["mean"] == pytest.approx(float(variance_of_laplacian(digits).mean()), rel=1e-12)


@pytest.mark.parametrize(
    "args, message",
    [
        (["-m", "nope"], "unknown metric 'nope' for -m (available: "),
        (["-m", "laplacian", "-O", "laplacian.colour=1"], "metric laplacian: unknown parameter(s) colour (known: gray)"),
        (["-m", "laplacian", "-O", "laplacian"], "must look like PLUGIN.PARAM=VALUE"),
        (["-m", "laplacian", "-m", "laplacian"], "listed twice"),
        (["-m", "laplacian", "--source-option", "layout"], "must look like KEY=VALUE"),
        (["-m", "laplacian", "--resize", "huge"], "--resize 'huge' must be 'first' or HxW"),
        (["-m", "laplacian", "--device", "warp-drive"], "--device 'warp-drive'"),
    ],
)
def test_usage_errors_are_one_clear_line(args, message, run_cli, image_folder):
    result = run_cli("score", image_folder(count=2), *args, "-q")
    assert result.exit_code == EXIT_USAGE and message in result.output, result.output
    assert "Traceback" not in result.output


def test_missing_input_is_named(run_cli, tmp_path):
    result = run_cli("score", tmp_path / "nowhere", "-m", "laplacian", "-q")
    assert result.exit_code == EXIT_INPUT and f"{tmp_path / 'nowhere'}: not recognised as any source" in result.output


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without CUDA")
def test_cuda_without_cuda_is_a_clear_error(run_cli, image_folder):
    result = run_cli("score", image_folder(count=2), "-m", "laplacian", "--device", "cuda", "-q")
    assert result.exit_code == EXIT_USAGE and "CUDA is not available" in result.output


def test_plugins_lists_the_builtins(run_cli):
    result = run_cli("plugins")
    assert result.exit_code == 0, result.output
    assert "laplacian  [built-in, version " in result.output
    assert "    metric: laplacian - variance of the Laplacian" in result.output
    assert "    source: folder - " in result.output and "    source: npz - " in result.output


def test_version_and_help(run_cli):
    assert run_cli("--version").output.strip() == f"gan-eval, version {__version__}"
    overview = run_cli("--help").output
    assert "score" in overview and "plugins" in overview


def test_docs_describe_every_option_of_score(run_cli):
    """docs/score.md must mention every option `gan-eval score --help` shows."""
    page = (REPO / "docs" / "score.md").read_text()
    options = [name for param in score_command.params for name in getattr(param, "opts", []) if name.startswith("--")]
    assert "--limit" in options and "--out" in options
    undocumented = [name for name in options if not re.search(re.escape(name) + r"\b", page)]
    assert not undocumented, f"document these options of 'gan-eval score' in docs/score.md: {undocumented}"
