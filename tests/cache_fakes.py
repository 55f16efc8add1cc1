"""A cheap fake extractor and a state-parameter metric for cache and stats-file tests (no network, no weights)."""

from __future__ import annotations

import sys

import numpy as np
import torch

import gan_eval
from gan_eval.extractor import FeatureExtractor
from gan_eval.metric import Metric
from gan_eval.params import Param
from gan_eval.plugins import load_registry


class FakeExtractor(FeatureExtractor):
    """Features: per-channel means and a few pixel moments; logits from them. Counts the images it sees."""

    name = "fake"
    outputs = frozenset({"features", "logits"})
    params = {"scale": Param(1.0, "multiplies the features (changes the identity)")}
    seen = 0

    def __call__(self, images):
        FakeExtractor.seen += len(images)
        x = images.to(torch.float64) / 255.0
        flat = x.flatten(2)
        feats = torch.cat([flat.mean(2), flat.std(2), flat[:, :, :4].flatten(1)], dim=1) * self.p["scale"]
        return {"features": feats.to(torch.float32), "logits": (feats[:, :5] * 10).to(torch.float32)}

    def identity(self):
        return {**super().identity(), "weights_sha256": "0" * 64, "profile": "fake"}


class PowerSum(Metric):
    """A metric whose state depends on its parameter (``power``): state_params defaults to all params."""

    name = "powersum"
    requires = frozenset({"features"})
    reference = "required"
    primary = "ratio"
    higher_is_better = None
    params = {"power": Param(1, "power of the features summed")}

    def state_spec(self):
        return {"total": "sum"}

    def update(self, state, inputs):
        state.add("total", (inputs["features"].to(torch.float64) ** self.p["power"]).sum())

    def compute(self, generated, reference):
        return {"ratio": float(generated.get("total") / reference.get("total"))}


@gan_eval.hookimpl
def register_extractors():
    return [FakeExtractor]


@gan_eval.hookimpl
def register_metrics():
    return [PowerSum]


def fake_registry():
    """The built-in plugins plus this module's fakes, registered through a Registry like any plugin
    (the command line loads the same file with ``--plugin``)."""
    registry = load_registry(autoload=False)
    registry.register(sys.modules[__name__], "cache-fakes", "file", None, __file__)
    return registry


def write_images(path, n, seed, shift=0):
    """An .npy stack of random RGB 8×8 images (uint8 N×8×8×3)."""
    rng = np.random.default_rng(seed)
    images = np.clip(rng.normal(120 + shift, 40, size=(n, 8, 8, 3)), 0, 255).astype(np.uint8)
    np.save(path, images)
    return str(path)
