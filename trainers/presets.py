"""The settings of Aguinaldo et al. (2019) as named presets (``--preset aguinaldo2019-mnist``...).

What comes from the paper: the datasets, the teacher depth factors (MNIST d=256, CIFAR-10 d=64,
Celeb-A d=128), latent 100, and 64×64 DCGAN-style generators (widths 8d/4d/2d/d), which reproduce
its parameter ratios (47,328,768 / 28,380 = 1,667.7:1 for MNIST d=256 vs d=2; the paper says
1669:1). What does NOT come from its text (which we do not have in full): the optimisation
settings. Those are the reference code the architecture matches: the WGAN reference
(Arjovsky et al., RMSprop 5e-5, clip 0.01, 5 critic steps, 100 for the first 25 generator steps and
every 500th) for W-DCGAN, and the DCGAN reference (Radford et al., Adam 2e-4, β=(0.5, 0.999)) with
``--loss gan``; batch 64 for both.
"""

from __future__ import annotations

from dataclasses import dataclass

from gan_eval.errors import UsageError


@dataclass(frozen=True)
class Preset:
    name: str
    d: int
    channels: int
    #: training data spec, or None when the data does not install offline (pass --data)
    data: str | None
    size: int = 64
    latent: int = 100
    loss: str = "wgan-clip"
    batch_size: int = 64
    critic_schedule: str = "wgan"


PRESETS = {
    "aguinaldo2019-mnist": Preset("aguinaldo2019-mnist", d=256, channels=1, data="dataset:mnist5k:train"),
    "aguinaldo2019-cifar10": Preset("aguinaldo2019-cifar10", d=64, channels=3, data=None),
    "aguinaldo2019-celeba": Preset("aguinaldo2019-celeba", d=128, channels=3, data=None),
}


def get_preset(name: str | None) -> Preset | None:
    if name is None:
        return None
    if name not in PRESETS:
        raise UsageError(f"unknown preset {name!r} (choose {', '.join(PRESETS)})")
    return PRESETS[name]
