"""Exponential moving average of generator weights (as StudioGAN, StyleGAN and BigGAN keep one).

The average is what gets sampled and scored: GAN weights oscillate from step to step, their average
does not. Parameters are averaged; buffers (batch-norm running statistics) are copied from the
trained generator, so the averaged network is used in eval mode with the statistics of the latest
weights, as in StudioGAN's ``ema.update``.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class GeneratorEMA:
    """``ema ← decay · ema + (1 − decay) · weights`` after every generator step."""

    def __init__(self, generator: nn.Module, decay: float):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), not {decay}")
        self.decay = decay
        self.module = copy.deepcopy(generator).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, generator: nn.Module) -> None:
        for averaged, current in zip(self.module.parameters(), generator.parameters()):
            averaged.mul_(self.decay).add_(current.detach(), alpha=1.0 - self.decay)
        for averaged, current in zip(self.module.buffers(), generator.buffers()):
            averaged.copy_(current)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.module.load_state_dict(state)
