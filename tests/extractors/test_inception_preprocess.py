"""Preprocessing profiles, checked against the resizes they claim to reproduce (cheap: no network)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st
from PIL import Image

from gan_eval_plugins.inception.preprocess import PROFILES, SIZE, clean, pytorch_fid, tf1, tf1_resize_bilinear


def random_images(n: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, h, w), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 90), w=st.integers(1, 90), seed=st.integers(0, 2**16))
def test_tf1_resize_is_bit_identical_to_torch_fidelity(h, w, seed):
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

    x = random_images(2, h, w, seed).float()
    theirs = interpolate_bilinear_2d_like_tensorflow1x(x, size=(SIZE, SIZE), align_corners=False)
    assert torch.equal(tf1_resize_bilinear(x), theirs)


def test_tf1_resize_follows_tf1_coordinates():
    """TF1 (no half-pixel centres): output j samples input j·in/out, so 2→4 gives 0, .5, 1, 1 of the way."""
    x = torch.tensor([[[[0.0, 8.0]]]])
    assert tf1_resize_bilinear(x.expand(1, 1, 2, 2), size=4)[0, 0, 0].tolist() == [0.0, 4.0, 8.0, 8.0]


def test_every_profile_returns_299_in_unit_range_for_any_size():
    for name, profile in PROFILES.items():
        for h, w in [(1, 1), (28, 28), (17, 40), (299, 299), (400, 300)]:
            out = profile(random_images(2, h, w), torch.float32)
            assert out.shape == (2, 3, SIZE, SIZE), name
            assert out.min() >= -1.0 and out.max() <= 1.0, name


def test_tf1_and_clean_at_299_only_normalise():
    x = random_images(1, SIZE, SIZE)
    expected = (x.float() - 128) / 128
    assert torch.equal(tf1(x), expected)
    assert torch.equal(clean(x), expected)


def test_pytorch_fid_profile_is_its_interpolate_and_scaling():
    x = random_images(2, 32, 32)
    expected = 2 * F.interpolate(x.float() / 255, size=(SIZE, SIZE), mode="bilinear", align_corners=False) - 1
    assert torch.equal(pytorch_fid(x), expected)


def pil_clean_resize(image: np.ndarray) -> np.ndarray:
    """clean-fid's "clean" resize: PIL bicubic on each float32 channel, clipped to [0, 255]."""
    channels = [np.asarray(Image.fromarray(c.astype(np.float32), mode="F").resize((SIZE, SIZE), resample=Image.BICUBIC)).clip(0, 255) for c in image]
    return np.stack(channels)


def test_clean_profile_matches_pil_bicubic_within_a_hundredth_of_a_grey_level():
    for size in (28, 64, 512):  # up- and downsampling (antialiasing only matters when shrinking)
        x = random_images(2, size, size, seed=size)
        reference = np.stack([pil_clean_resize(img) for img in x.numpy()])
        ours = clean(x).numpy() * 128 + 128
        assert np.abs(ours - reference).max() < 0.01, size


def test_clean_downsampling_is_antialiased():
    """A one-pixel checkerboard shrunk to 299 averages out to grey; plain bilinear would alias it."""
    board = ((torch.arange(600).view(-1, 1) + torch.arange(600).view(1, -1)) % 2 * 255).to(torch.uint8)
    x = board.expand(1, 3, 600, 600)
    assert (clean(x) * 128 + 128).std() < 5
    assert (tf1(x) * 128 + 128).std() > 20  # measured: 42 (moiré)
