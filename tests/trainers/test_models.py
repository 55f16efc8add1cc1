"""DCGAN / W-DCGAN architectures: shapes, the d² law of parameter counts, seeded initialisation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gan_eval.errors import UsageError
from trainers.models import Architecture, Discriminator, Generator, build_pair, count_parameters


@pytest.mark.parametrize("size,channels", [(28, 1), (32, 3), (64, 3), (64, 1)])
def test_generator_and_discriminator_shapes(size, channels):
    spec = Architecture(d=4, size=size, channels=channels)
    generator, discriminator = build_pair(spec, seed=0)
    images = generator(torch.randn(3, spec.latent))
    assert images.shape == (3, channels, size, size)
    assert images.abs().max() <= 1.0  # tanh
    assert discriminator(images).shape == (3,)


def parameters(d: int, size: int = 28) -> int:
    return count_parameters(Generator(Architecture(d=d, size=size)))


@pytest.mark.parametrize("size", [28, 32])
def test_parameter_count_is_a_quadratic_in_d_that_grows_like_d_squared(size):
    counts = [parameters(d, size) for d in (1, 2, 3, 4)]
    first = [b - a for a, b in zip(counts, counts[1:])]
    second = [b - a for a, b in zip(first, first[1:])]
    assert second[0] == second[1] > 0  # exactly a·d² + b·d + c with a > 0
    a = second[0] / 2
    large = parameters(256, size)
    assert 0.7 < a * 256**2 / large <= 1.0  # the d² term dominates at large d
    assert 3.2 < parameters(256, size) / parameters(128, size) < 4.0  # → 4 as d → ∞


def test_doubling_d_roughly_quadruples_discriminator_too():
    small = count_parameters(Discriminator(Architecture(d=64)))
    big = count_parameters(Discriminator(Architecture(d=128)))
    assert 3.8 < big / small <= 4.0


def test_same_seed_same_weights_and_different_seed_different_weights():
    spec = Architecture(d=4)
    a, _ = build_pair(spec, seed=3)
    b, _ = build_pair(spec, seed=3)
    c, _ = build_pair(spec, seed=4)
    for (name, pa), pb, pc in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values()):
        assert torch.equal(pa, pb), name
    assert not all(torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters()))


def test_building_does_not_disturb_the_global_random_state():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    build_pair(Architecture(d=2), seed=9)
    assert torch.equal(torch.rand(3), expected)


def test_wgan_gp_critic_has_no_batch_norm():
    critic = Discriminator(Architecture(arch="wdcgan", d=4, critic_norm="none"))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in critic.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in Discriminator(Architecture(d=4)).modules())


@pytest.mark.parametrize("kwargs", [{"size": 48}, {"channels": 2}, {"arch": "resnet"}, {"d": 0}])
def test_unsupported_architectures_are_refused(kwargs):
    with pytest.raises(UsageError):
        Architecture(**kwargs)
