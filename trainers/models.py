"""DCGAN / W-DCGAN generators and discriminators whose channel widths scale with the depth factor d.

As in Aguinaldo et al. (2019), ``d`` is the width of the layer nearest the image; each layer further
from the image doubles it (d, 2d, 4d, ...). The convolutions between hidden layers hold ``O(d²)``
weights, so the parameter count is a quadratic in d that grows ≈ ∝ d² once d is large compared with
the latent size (the latent projection and the image layer add only ``O(d)``).

Image sizes: 28×28 (MNIST-like, 4→7→14→28), 32×32 (4→8→16→32) and 64×64 (4→8→16→32→64), with 1 or 3
channels. Generators end in tanh, so images are in [-1, 1].
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from gan_eval.errors import UsageError

#: spatial sizes from the 4×4 seed to the image, per supported image size
LADDERS: dict[int, tuple[int, ...]] = {28: (4, 7, 14, 28), 32: (4, 8, 16, 32), 64: (4, 8, 16, 32, 64)}
ARCHS = ("dcgan", "wdcgan")


@dataclass(frozen=True)
class Architecture:
    """Everything needed to rebuild a generator/discriminator pair (stored in checkpoints)."""

    arch: str = "dcgan"
    d: int = 32
    latent: int = 100
    size: int = 28
    channels: int = 1
    #: discriminator normalisation: "batch" (DCGAN, WGAN with clipping) or "none" (WGAN-GP)
    critic_norm: str = "batch"

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise UsageError(f"unknown architecture {self.arch!r} (choose {', '.join(ARCHS)})")
        if self.size not in LADDERS:
            raise UsageError(f"image size {self.size} is not supported (choose {', '.join(map(str, LADDERS))})")
        if self.channels not in (1, 3):
            raise UsageError(f"{self.channels} image channels are not supported (choose 1 or 3)")
        if self.d < 1 or self.latent < 1:
            raise UsageError(f"depth factor d={self.d} and latent size {self.latent} must be positive")
        if self.critic_norm not in ("batch", "none"):
            raise UsageError(f"critic_norm must be 'batch' or 'none', not {self.critic_norm!r}")

    def widths(self) -> list[int]:
        """Channel widths of the hidden feature maps, from the 4×4 seed towards the image."""
        hidden = len(LADDERS[self.size]) - 1
        return [self.d * 2 ** (hidden - 1 - i) for i in range(hidden)]

    def as_dict(self) -> dict:
        return asdict(self)


def _up(c_in: int, c_out: int, s_in: int, s_out: int) -> nn.ConvTranspose2d:
    kernel = 4 if s_out == 2 * s_in else 3  # 4→7 uses a 3×3 kernel
    return nn.ConvTranspose2d(c_in, c_out, kernel, 2, 1, bias=False)


def _down(c_in: int, c_out: int, s_in: int, s_out: int) -> nn.Conv2d:
    kernel = 4 if s_in == 2 * s_out else 3  # 7→4 uses a 3×3 kernel
    return nn.Conv2d(c_in, c_out, kernel, 2, 1, bias=False)


class Generator(nn.Module):
    """Latent ``N×latent`` → images ``N×C×H×W`` in [-1, 1]."""

    def __init__(self, spec: Architecture):
        super().__init__()
        self.spec = spec
        ladder, widths = LADDERS[spec.size], spec.widths()
        layers: list[nn.Module] = [nn.ConvTranspose2d(spec.latent, widths[0], 4, 1, 0, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(True)]
        for i in range(1, len(widths)):
            layers += [_up(widths[i - 1], widths[i], ladder[i - 1], ladder[i]), nn.BatchNorm2d(widths[i]), nn.ReLU(True)]
        layers += [_up(widths[-1], spec.channels, ladder[-2], ladder[-1]), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.reshape(z.shape[0], self.spec.latent, 1, 1))


class Discriminator(nn.Module):
    """Images → one logit (DCGAN) or critic value (W-DCGAN) per image; no sigmoid."""

    def __init__(self, spec: Architecture):
        super().__init__()
        ladder, widths = LADDERS[spec.size][::-1], spec.widths()[::-1]
        layers: list[nn.Module] = [_down(spec.channels, widths[0], ladder[0], ladder[1]), nn.LeakyReLU(0.2, True)]
        for i in range(1, len(widths)):
            layers.append(_down(widths[i - 1], widths[i], ladder[i], ladder[i + 1]))
            if spec.critic_norm == "batch":
                layers.append(nn.BatchNorm2d(widths[i]))
            layers.append(nn.LeakyReLU(0.2, True))
        layers.append(nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).reshape(x.shape[0])


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: N(0, 0.02) convolutions, N(1, 0.02) batch-norm scales."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def build_pair(spec: Architecture, seed: int) -> tuple[Generator, Discriminator]:
    """A freshly initialised generator and discriminator; the same seed gives the same weights."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator, discriminator = Generator(spec), Discriminator(spec)
        generator.apply(init_weights)
        discriminator.apply(init_weights)
    return generator, discriminator
