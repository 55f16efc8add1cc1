"""A value is the same number whether or not intervals are asked for: the bootstrap blocks only add
partial sums beside each state, they never reorder what IS shuffles or what KID draws subsets from."""

from __future__ import annotations

import numpy as np
import pytest

from gan_eval.plugins import load_registry
from gan_eval.scoring import ScoreConfig, score
from gan_eval_plugins.sources.datasets import load_dataset

pytestmark = pytest.mark.usefixtures("isolated_inception_env")


def test_fid_is_and_kid_are_the_same_with_and_without_bootstrap(standin_weights, tmp_path):
    digits, _ = load_dataset("mnist5k", "test")
    paths = []
    for name, start in (("generated", 0), ("reference", 500)):
        rgb = np.repeat(digits[start : start + 30 * 7 : 7, :, :, None], 3, axis=3)
        paths.append(str(tmp_path / f"{name}.npy"))
        np.save(paths[-1], np.ascontiguousarray(rgb))
    values = {}
    for resamples in (0, 20):
        config = ScoreConfig(
            generated=paths[0],
            reference=paths[1],
            metrics=["fid", "is", "kid"],
            extractor="inception",
            extractor_params={"weights": str(standin_weights), "allow_nonstandard": True},
            batch_size=25,  # longer than the 20 blocks: a batch is fed block by block, out of order
            use_cache=False,
            bootstrap=resamples,
            metric_params={"kid": {"subsets": 10, "subset_size": 10}, "is": {"splits": 4}},
        )
        outcome = score(load_registry(), config)
        values[resamples] = {r["name"]: r for r in outcome.results}
    for name in ("is@inception", "kid@inception"):
        assert values[20][name]["values"] == values[0][name]["values"]  # rows in the same order: the same bits
        assert values[20][name]["intervals"] and not values[0][name]["intervals"]
    # FID's sums are added block by block: the same number up to float64 rounding
    assert values[20]["fid@inception"]["values"]["fid"] == pytest.approx(values[0]["fid@inception"]["values"]["fid"], rel=1e-12)
