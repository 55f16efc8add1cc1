"""Evaluation during training, through the gan-eval library API (``gan_eval.Evaluator``).

This module is the trainers' only contact with the scoring library: it turns a generator into
``Scores`` (flat metric values, their intervals, warnings). The latents are the ``ckpt:`` source's
(blocks of 64 seeded by ``--eval-seed``), so a score logged at step k is the score ``gan-eval score
ckpt:CHECKPOINT --num N --seed S`` gives for the checkpoint written at step k.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from gan_eval.errors import UsageError
from gan_eval_plugins.sources.generators import BLOCK, block_latents


@dataclass
class Scores:
    """One evaluation: ``values`` by flat key (``"fid@mnist-cnn.fid"``), ``intervals`` by the same keys."""

    values: dict[str, float]
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


#: A scorer maps a generator (any nn.Module: latents → images in [-1, 1]) to its Scores.
Scorer = Callable[[nn.Module], Scores]


def evaluator_class() -> Any:
    import gan_eval

    cls = getattr(gan_eval, "Evaluator", None)
    if cls is None:
        raise UsageError(
            "evaluation during training needs gan_eval.Evaluator, which this gan-eval does not provide yet "
            "(drop --eval-every, or score the checkpoints afterwards with 'gan-eval score' / 'sweep-score')"
        )
    return cls


def _interval(value: Any) -> tuple[float, float] | None:
    if isinstance(value, dict):
        low, high = value.get("low"), value.get("high")
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        low, high = value
    else:
        low = getattr(value, "low", None)
        high = getattr(value, "high", None)
    if low is None or high is None:
        return None
    return float(low), float(high)


def flat_intervals(raw: Any, prefix: str = "") -> dict[str, tuple[float, float]]:
    """``{"fid@x": {"fid": {"low": .., "high": ..}}}`` (or already flat) as ``{"fid@x.fid": (low, high)}``."""
    out: dict[str, tuple[float, float]] = {}
    for key, value in dict(raw or {}).items():
        name = f"{prefix}.{key}" if prefix else str(key)
        pair = _interval(value)
        if pair is not None:
            out[name] = pair
        elif isinstance(value, dict):
            out.update(flat_intervals(value, name))
    return out


def scores_from_result(result: Any) -> Scores:
    """A library ``Result`` as plain floats: ``result.values``, ``result.intervals``, ``result.warnings``."""
    values = {str(k): float(v) for k, v in dict(result.values).items()}
    intervals = {k: v for k, v in flat_intervals(getattr(result, "intervals", None)).items() if k in values}
    return Scores(values, intervals, [str(w) for w in (getattr(result, "warnings", None) or [])])


class LibraryScorer:
    """Scores ``num`` images of a generator with ``gan_eval.Evaluator``; the reference is prepared
    once, by the first evaluation, and cached by the library."""

    def __init__(self, metrics: list[str], reference: str, *, num: int, seed: int, latent: int, extractor: str = "auto", device: str = "cpu"):
        self.num, self.seed, self.latent, self.device = num, seed, latent, torch.device(device)
        self.evaluator = evaluator_class()(list(metrics), reference=reference, extractor=extractor, device=device, seed=seed)

    @torch.no_grad()
    def __call__(self, generator: nn.Module) -> Scores:
        was_training = generator.training
        generator.eval()
        try:
            self.evaluator.reset()
            for block in range(math.ceil(self.num / BLOCK)):
                z = block_latents(self.seed, block, (self.latent,)).to(self.device)
                images = generator(z)[: self.num - block * BLOCK]
                self.evaluator.update(images)
            return scores_from_result(self.evaluator.compute())
        finally:
            generator.train(was_training)
