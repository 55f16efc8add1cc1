"""End to end: `gan-eval score` on PNG folders equals torch-fidelity's calculate_metrics (IS, FID,
KID, precision/recall) with the same stand-in weights, images, splits, subsets and seeds."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from gan_eval.cli import main
from gan_eval.plugins import load_registry

N = 10
RTOL = 1e-4


pytestmark = pytest.mark.usefixtures("isolated_inception_env")


def write_folder(folder, seeds):
    """32×32 RGB PNGs, one per seed: a horizontal ramp plus per-pixel noise drawn from that seed;
    seeds ≥ N are also brighter, so that the sets differ clearly (KID well above float32 round-off)."""
    folder.mkdir()
    ramp = np.linspace(0, 200, 32)[None, :, None]
    for i, seed in enumerate(seeds):
        noise = np.random.default_rng(seed).integers(-50, 50, (32, 32, 3)) + (40 if seed >= N else 0)
        Image.fromarray((ramp + noise).clip(0, 255).astype(np.uint8)).save(folder / f"{i:03d}.png")
    return folder


def test_score_equals_torch_fidelity_calculate_metrics(tmp_path, standin_weights):
    metrics = load_registry(autoload=False).metrics()
    if not {"fid", "is", "kid", "pr"} <= set(metrics):
        pytest.skip("the FID/IS/KID/PR metric plugins are not installed")
    torch_fidelity = pytest.importorskip("torch_fidelity")
    weights = standin_weights
    generated = write_folder(tmp_path / "generated", range(N))
    reference = write_folder(tmp_path / "reference", range(N // 2, N + N // 2))  # half the images shared: 0 < P, R < 1

    result = CliRunner().invoke(
        main,
        [
            "score",
            str(generated),
            "--ref",
            str(reference),
            "-m",
            "fid",
            "-m",
            "is",
            "-m",
            "kid",
            "-m",
            "pr",
            "--extractor",
            "inception",
            "-O",
            f"inception.weights={weights}",
            "-O",
            "inception.allow_nonstandard=true",
            "-O",
            "is.splits=2",
            "-O",
            "kid.subsets=10",
            "-O",
            "kid.subset_size=5",
            "-O",
            "pr.k=3",
            "--device",
            "cpu",
            "--batch-size",
            "10",
            "-q",
            "--no-cache",
            "--json",
            "--seed",
            "2020",  # torch-fidelity's rng_seed
        ],
    )
    assert result.exit_code == 0, result.output
    ours = {r["name"].split("@")[0]: r["values"] for r in json.loads(result.stdout)["results"]}

    theirs = torch_fidelity.calculate_metrics(
        input1=str(generated),
        input2=str(reference),
        isc=True,
        fid=True,
        kid=True,
        prc=True,
        feature_extractor="inception-v3-compat",
        feature_extractor_weights_path=str(weights),
        isc_splits=2,
        kid_subsets=10,
        kid_subset_size=5,
        prc_neighborhood=3,
        rng_seed=2020,
        cuda=False,
        batch_size=10,
        cache=False,
        save_cpu_ram=True,
        verbose=False,
    )
    pairs = {
        "fid": (ours["fid"]["fid"], theirs["frechet_inception_distance"]),
        "is mean": (ours["is"]["mean"], theirs["inception_score_mean"]),
        "is std": (ours["is"]["std"], theirs["inception_score_std"]),
        "kid mean": (ours["kid"]["mean"], theirs["kernel_inception_distance_mean"]),
        "kid std": (ours["kid"]["std"], theirs["kernel_inception_distance_std"]),
        "precision": (ours["pr"]["precision"], theirs["precision"]),
        "recall": (ours["pr"]["recall"], theirs["recall"]),
    }
    assert ours["fid"]["fid"] > 1 and ours["is"]["mean"] > 1.05 and ours["kid"]["mean"] > 0.01  # not degenerate
    assert 0 < ours["pr"]["precision"] + ours["pr"]["recall"] < 2
    for name, (a, b) in pairs.items():
        assert a == pytest.approx(b, rel=RTOL, abs=1e-9), name
