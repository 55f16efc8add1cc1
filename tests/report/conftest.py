"""Run records for report tests: real ones, scored by ``gan-eval score`` on small arrays."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from gan_eval.cli import main

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
