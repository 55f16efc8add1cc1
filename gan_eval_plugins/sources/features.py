"""Source ``features:FILE.npz``: the extractor outputs 'gan-eval features' wrote, scored again without
the network (metrics that read the images themselves cannot use it)."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

import gan_eval
from gan_eval.features_file import read_features
from gan_eval.source import Batch, Source, SourceOptions


class FeaturesSource(Source):
    kind = "features"
    summary = "extractor outputs written by 'gan-eval features' (scored without running the network again)"

    def __init__(self, target: str, options: SourceOptions):
        super().__init__(target, options)
        self.header, self.outputs, self.labels = read_features(target)
        self.outputs_identity = self.header["extractor"]
        count = len(self.outputs["features"])
        self.count = count if options.limit is None else min(count, options.limit)
        digest = hashlib.sha256(b"gan-eval-features-source/1")
        digest.update(str(self.header.get("source", {}).get("fingerprint")).encode())
        digest.update(str(self.count).encode())
        self._fingerprint = digest.hexdigest()

    def __len__(self) -> int:
        return self.count

    def read(self, start: int, stop: int) -> Batch:
        outputs = {name: value[start:stop] for name, value in self.outputs.items()}
        labels = None if self.labels is None else self.labels[start:stop]
        placeholders = np.zeros((stop - start, 3, 1, 1), np.uint8)
        return Batch(placeholders, labels=labels, outputs=outputs, outputs_of=str(self.outputs_identity.get("extractor")))

    def fingerprint(self) -> str:
        return self._fingerprint

    def info(self) -> dict[str, Any]:
        made_from = self.header.get("source", {})
        return {
            "kind": self.kind,
            "spec": self.spec,
            "count": self.count,
            "height": made_from.get("height"),
            "width": made_from.get("width"),
            "channels": made_from.get("channels"),
            "made_from": made_from.get("spec"),
            "extractor": self.outputs_identity.get("extractor"),
        }


@gan_eval.hookimpl
def register_sources():
    return [FeaturesSource]
