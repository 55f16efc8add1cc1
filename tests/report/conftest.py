"""Run records for report tests: real ones, scored by ``gan-eval score`` on small arrays."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from gan_eval.cli import main
from gan_eval.scoring import BOOTSTRAP_ENV

from report_helpers import CONTRAST


def smooth_images(seed: int, blur: int, count: int = 24, size: int = 16) -> np.ndarray:
    """Random uint8 N×H×W×3 images, box-blurred ``blur`` times (more blur: lower VoL)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (count, size, size, 3)).astype(np.float64)
    for _ in range(blur):
        images = (images + np.roll(images, 1, 1) + np.roll(images, 1, 2) + np.roll(images, (1, 1), (1, 2))) / 4
    return np.rint(images).astype(np.uint8)


@pytest.fixture(scope="session")
def reference_npz(tmp_path_factory):
    path = tmp_path_factory.mktemp("ref") / "reference.npy"
    np.save(path, smooth_images(99, 0))
    return path


@pytest.fixture(scope="session")
def score_record(tmp_path_factory, reference_npz):
    """Factory: score images (seed, blur) against the shared reference; optionally add the facts a
    trainer checkpoint's source reports (d, role, parameters, compression_ratio); returns the path."""

    def make(name: str, seed: int = 0, blur: int = 0, facts: dict | None = None, extra_args=()) -> Path:
        folder = tmp_path_factory.mktemp("run")
        images = folder / f"{name}.npy"
        np.save(images, smooth_images(seed, blur))
        out = folder / f"{name}.json"
        result = CliRunner().invoke(
            main, ["score", str(images), "--ref", str(reference_npz), "-m", "laplacian", "-q", "--out", str(out), *extra_args], catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        if facts:
            record = json.loads(out.read_text())
            record["inputs"]["generated"].update(facts)
            out.write_text(json.dumps(record))
        return out

    return make


@pytest.fixture(scope="session")
def sweep_records(score_record):
    """A teacher and two students at different d, plus a from-scratch control (real records)."""
    return [
        score_record("teacher-d16", 1, 0, {"role": "teacher", "d": 16, "parameters": 400_000}, CONTRAST),
        score_record("student-d8", 2, 1, {"role": "student", "d": 8, "parameters": 100_000, "teacher_parameters": 400_000, "compression_ratio": 4.0}, CONTRAST),
        score_record("student-d4", 3, 2, {"role": "student", "d": 4, "parameters": 25_000, "teacher_parameters": 400_000, "compression_ratio": 16.0}, CONTRAST),
        score_record("scratch-d4", 4, 3, {"role": "scratch", "d": 4, "parameters": 25_000}, CONTRAST),
    ]


#: FID with the sample-size curve and saved states, kept small (bootstrap and curve resamples cut).
FID_ARGS = ["-m", "fid", "--extractor", "mnist-cnn", "-O", "fid.curve=true", "-O", "fid.curve_resamples=10", "--bootstrap", "30", "--save-states"]


@pytest.fixture(scope="session")
def fid_records(tmp_path_factory):
    """Real FID records over one reference (300 MNIST training images), each with a curve and saved
    states: ``mnist`` (192 MNIST test images), ``noise`` (192 uniform-noise images: much worse) and
    ``stateless`` (the noise run without its states)."""
    folder = tmp_path_factory.mktemp("fid")
    noise = folder / "noise.npy"
    np.save(noise, np.random.default_rng(0).integers(0, 256, (192, 28, 28, 1), dtype=np.uint8).repeat(3, axis=3))
    reference = ["--ref", "dataset:mnist5k:train", "--limit-ref", "300"]
    paths = {}
    for name, spec in (("mnist", ["dataset:mnist5k:test", "--limit", "192"]), ("noise", [str(noise)])):
        paths[name] = folder / f"{name}.json"
        result = CliRunner().invoke(main, ["score", *spec, *reference, *FID_ARGS, "-q", "--out", str(paths[name])], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    paths["stateless"] = folder / "stateless.json"
    record = json.loads(paths["noise"].read_text())
    del record["states_file"]
    paths["stateless"].write_text(json.dumps(record))
    return paths


@pytest.fixture(scope="session")
def trained_record(tmp_path_factory):
    """A real training run (trainer API, real gan_eval.Evaluator every 2 steps, best kept by FID),
    its checkpoint then scored by 'gan-eval score': the record carries inputs.generated.training_log."""
    from trainers.training import TrainConfig, train

    folder = tmp_path_factory.mktemp("trained")
    data = folder / "noise.npz"
    np.savez(data, images=np.random.default_rng(0).integers(0, 256, (256, 28, 28), dtype=np.uint8))
    out = folder / "run.pt"
    config = TrainConfig(
        d=2,
        steps=6,
        batch_size=4,
        data=f"npz:{data}",
        eval_every=2,
        eval_num=192,
        eval_metrics=["fid"],
        eval_reference=f"npz:{data}",
        eval_extractor="mnist-cnn",
        keep_best="fid",
    )
    saved = os.environ.get(BOOTSTRAP_ENV)
    os.environ[BOOTSTRAP_ENV] = "30"  # the evaluator's default resamples, cut for speed (the interval's shape is what matters here)
    try:
        train(config, out, progress=False)
    finally:
        if saved is None:
            del os.environ[BOOTSTRAP_ENV]
        else:
            os.environ[BOOTSTRAP_ENV] = saved
    record = folder / "scored.json"
    result = CliRunner().invoke(
        main, ["score", str(out), "--num", "16", "--ref", f"npz:{data}", "-m", "laplacian", "-q", "--out", str(record)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return record


@pytest.fixture(scope="session")
def interval_sweep(score_record):
    """The sweep of ``sweep_records`` scored with bootstrap intervals (batches of 4 fill the blocks)."""
    args = [*CONTRAST, "--bootstrap", "50", "--batch-size", "4"]
    return [
        score_record("teacher-d16", 1, 0, {"role": "teacher", "d": 16, "parameters": 400_000}, args),
        score_record("student-d8", 2, 1, {"role": "student", "d": 8, "parameters": 100_000, "teacher_parameters": 400_000, "compression_ratio": 4.0}, args),
        score_record("student-d4", 3, 2, {"role": "student", "d": 4, "parameters": 25_000, "teacher_parameters": 400_000, "compression_ratio": 16.0}, args),
        score_record("scratch-d4", 4, 3, {"role": "scratch", "d": 4, "parameters": 25_000}, args),
    ]
