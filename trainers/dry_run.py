"""``--dry-run``: what a training run would build, without training: parameter counts, MACs per
image and memory, for the generator and the discriminator.

MACs come from torch's own ``torch.utils.flop_counter.FlopCounterMode`` (no extra dependency) on a
one-image forward pass on the ``meta`` device (nothing is allocated): FLOPs of convolutions and
matrix products / 2. Batch norm, activations and tanh are not counted (a few per output element).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .models import Architecture, Discriminator, Generator, count_parameters

MIB = 2**20


def _activation_elements(module: nn.Module, x: torch.Tensor) -> int:
    """Elements of every leaf module's output for one input: roughly what backward keeps."""
    total = 0

    def hook(_module, _inputs, output):
        nonlocal total
        total += output.numel()

    handles = [m.register_forward_hook(hook) for m in module.modules() if not list(m.children())]
    try:
        module(x)
    finally:
        for handle in handles:
            handle.remove()
    return total


def measure(kind: str, arch: Architecture) -> dict[str, Any]:
    """Parameters, MACs per image and activation elements per image of the generator or discriminator."""
    with torch.device("meta"):
        module = (Generator if kind == "generator" else Discriminator)(arch).eval()
        x = torch.zeros(1, arch.latent) if kind == "generator" else torch.zeros(1, arch.channels, arch.size, arch.size)
        counter = FlopCounterMode(display=False)
        with counter:
            module(x)
        activations = _activation_elements(module, x)
    return {"parameters": count_parameters(module), "macs": counter.get_total_flops() // 2, "activations": activations}


def summary(generator_arch: Architecture, discriminator_arch: Architecture | None, *, batch_size: int, optimizer_slots: int, ema: bool) -> list[str]:
    """Lines to print: per network its counts and float32 memory for training at ``batch_size``."""
    lines = []
    for kind, arch in (("generator", generator_arch), ("discriminator", discriminator_arch)):
        if arch is None:
            lines.append("discriminator: none (MSE distillation)")
            continue
        m = measure(kind, arch)
        copies = 2 + optimizer_slots + (1 if ema and kind == "generator" else 0)  # weights, gradients, optimiser state, EMA
        weights = m["parameters"] * 4 / MIB
        lines.append(
            f"{kind}: {m['parameters']:,} parameters ({arch.arch}, d={arch.d}, {arch.channels}×{arch.size}², latent {arch.latent}), "
            f"{m['macs']:,} MACs per image; memory (float32): weights {weights:.1f} MiB, "
            f"training state {copies * weights:.1f} MiB (weights, gradients, {optimizer_slots} optimiser slot(s){', EMA' if copies > 2 + optimizer_slots else ''}), "
            f"activations ≈ {m['activations'] * 4 * batch_size / MIB:.1f} MiB per batch of {batch_size}"
        )
    return lines


def architectures(config: Any) -> tuple[Architecture, Architecture | None]:
    """The generator and discriminator a config would build, reading only what it must: a
    preset's geometry, or the training data (teachers), or the teacher's record (students)."""
    from .checkpoint import load_torch, read_checkpoint, train_state_path
    from .presets import get_preset

    if config.role == "student":
        teacher = read_checkpoint(config.teacher)["record"]
        t_arch = Architecture(**teacher["architecture"])
        arch = Architecture(arch=t_arch.arch, d=config.d, latent=t_arch.latent, size=t_arch.size, channels=t_arch.channels, critic_norm=t_arch.critic_norm)
        if config.loss == "mse":
            return arch, None
        if config.disc_init == "teacher":
            load_torch(train_state_path(config.teacher))  # exists and is readable, as training will need it
            return arch, t_arch
        return Architecture(arch="dcgan", d=config.d, latent=t_arch.latent, size=t_arch.size, channels=t_arch.channels), arch
    preset = get_preset(config.preset)
    if preset is not None and (not config.data or config.data == preset.data):
        size, channels = config.size or preset.size, preset.channels
    else:
        from .data import load_training_images

        data = load_training_images(config.data, size=config.size)
        size, channels = data.size, data.channels
    arch = Architecture(
        arch="dcgan" if config.loss == "gan" else "wdcgan",
        d=config.d,
        latent=config.latent,
        size=size,
        channels=channels,
        critic_norm="none" if config.loss == "wgan-gp" else "batch",
    )
    return arch, arch


def describe(config: Any) -> list[str]:
    """The dry-run report of ``config`` (a TrainConfig)."""
    from .training import DEFAULTS

    config.validate() if config.data or config.role == "student" else None
    generator, discriminator = architectures(config)
    slots = 1 if DEFAULTS[config.loss][1] is None else 2
    head = (
        f"dry run: {config.role} {config.loss} d={config.d}"
        + (f", preset {config.preset}" if config.preset else "")
        + f", batch {config.batch_size}, {config.steps} steps (nothing trained)"
    )
    return [head, *summary(generator, discriminator, batch_size=config.batch_size, optimizer_slots=slots, ema=config.ema is not None)]
