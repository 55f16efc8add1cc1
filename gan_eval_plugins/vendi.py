"""The Vendi score (Friedman & Dieng, 2023) of the generated set, overall and per class.

With the rows x₁…xₙ scaled to unit length (a zero row stays zero, as scikit-learn's ``normalize``),
K = [xᵢᵀxⱼ] is the cosine-similarity matrix and λ the eigenvalues of K/n; the score is
exp(−Σ λ log λ) over the positive λ (order q = 1), the "effective number of distinct samples": 1 for
n copies of one image, n for n orthogonal ones. It equals ``vendi_score.vendi.score_X(X)``.

K/n (n×n) and XᵀX/n (d×d) have the same non-zero eigenvalues, so the smaller of the two is
decomposed: O(min(n, d)³) instead of O(n³). The reference is not used. When the source gives labels
(``inputs["labels"]``, int64 per image), the score of each class's images is computed too:
``vendi_class_mean`` is their mean over classes and ``details()`` lists them.
"""

from __future__ import annotations

import warnings

import torch

import gan_eval
from gan_eval.errors import GanEvalError
from gan_eval.metric import Metric

#: Classes listed in ``details()`` (the record's details are limited to 64 kB).
MAX_DETAILED_CLASSES = 1000


def vendi_score(features: torch.Tensor) -> float:
    """exp(entropy of the eigenvalues of the normalised cosine-similarity matrix K/n), in float64."""
    if features.ndim != 2 or len(features) == 0:
        raise ValueError(f"Vendi needs a non-empty N×d feature matrix, got shape {tuple(features.shape)}")
    x = features.to(torch.float64)
    norms = x.norm(dim=1, keepdim=True)
    x = x / torch.where(norms == 0, torch.ones_like(norms), norms)
    n, d = x.shape
    similarity = x @ x.T if n <= d else x.T @ x
    eigenvalues = torch.linalg.eigvalsh(similarity / n)
    positive = eigenvalues[eigenvalues > 0]
    return float(torch.exp(-(positive * positive.log()).sum()))


def per_class_vendi(features: torch.Tensor, labels: torch.Tensor) -> dict[int, tuple[int, float]]:
    """{label: (images, Vendi score of that class's images)} in ascending label order."""
    return {int(c): (int((labels == c).sum()), vendi_score(features[labels == c])) for c in torch.unique(labels)}


class Vendi(Metric):
    name = "vendi"
    summary = "Vendi score: effective number of distinct generated images (cosine similarity), per class when labelled"
    requires = frozenset({"features"})
    reference = "unused"
    primary = "vendi"
    higher_is_better = True

    def state_spec(self):
        return {"features": "cat", "labels": "cat"}

    def update(self, state, inputs):
        state.append("features", inputs["features"])
        labels = inputs.get("labels")
        if labels is not None:
            state.append("labels", labels.reshape(-1).to(torch.int64))

    def compute(self, generated, reference):
        features = self._features(generated)
        values = {"vendi": vendi_score(features)}
        classes = self._classes(generated, features)
        if classes:
            values["vendi_class_mean"] = sum(score for _, score in classes.values()) / len(classes)
        return values

    def details(self, generated, reference):
        features = self._features(generated)
        classes = self._classes(generated, features, warn=False)
        if not classes:
            return None
        shown = list(classes.items())[:MAX_DETAILED_CLASSES]
        return {
            "classes": [label for label, _ in shown],
            "counts": [count for _, (count, _) in shown],
            "vendi": [score for _, (_, score) in shown],
            "classes_total": len(classes),
        }

    def _features(self, state) -> torch.Tensor:
        features = state.get("features")
        if features is None:
            raise GanEvalError("vendi: the generated set has no images")
        return features

    def _classes(self, state, features, warn: bool = True) -> dict[int, tuple[int, float]]:
        labels = state.get("labels")
        if labels is None:
            return {}
        if len(labels) != len(features):
            if warn:
                warnings.warn(f"labels came with only {len(labels)} of {len(features)} images: per-class Vendi scores skipped", stacklevel=2)
            return {}
        cached = getattr(self, "_cached", None)  # details() follows compute() on the same state: decompose once
        if cached is None or cached[0] is not state or cached[1] != len(labels):
            self._cached = cached = (state, len(labels), per_class_vendi(features, labels))
        return cached[2]


@gan_eval.hookimpl
def register_metrics():
    return [Vendi]
