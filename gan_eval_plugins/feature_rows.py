"""Shared base for metrics that compare the feature rows of two sets (KID, precision/recall)."""

from __future__ import annotations

import torch

from gan_eval.errors import GanEvalError
from gan_eval.metric import Metric
from gan_eval.state import State


class FeatureRowsMetric(Metric):
    """Keeps every feature row (merged by concatenation) of the generated and the reference set."""

    requires = frozenset({"features"})
    reference = "required"

    def state_spec(self):
        return {"features": "cat"}

    def update(self, state, inputs):
        state.append("features", inputs["features"])

    def feature_pair(self, generated: State, reference: State) -> tuple[torch.Tensor, torch.Tensor]:
        """(generated rows, reference rows), or a clear error when either set is empty."""
        x, y = generated.get("features"), reference.get("features")
        if x is None or y is None:
            raise GanEvalError(f"{self.name}: the generated or the reference set has no images")
        return x, y
