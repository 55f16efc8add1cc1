"""Variance of the Laplacian equals OpenCV's own computation, image for image."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from matplotlib import cbook
from PIL import Image

from gan_eval.errors import PluginError, UsageError
from gan_eval.state import State
from gan_eval_plugins.laplacian import (
    GRAY_RECIPES,
    VarianceOfLaplacian,
    installed_gray_recipe,
    opencv_gray,
    variance_of_laplacian,
)


def opencv_vol(rgb_hwc: np.ndarray) -> float:
    """The reference: what a user computes with OpenCV directly."""
    return cv2.Laplacian(cv2.cvtColor(rgb_hwc, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()


def ours(rgb_hwc_stack: np.ndarray) -> np.ndarray:
    return variance_of_laplacian(torch.from_numpy(np.ascontiguousarray(rgb_hwc_stack.transpose(0, 3, 1, 2)))).numpy()


def sample_image(name: str) -> np.ndarray:
    """A real RGB photograph/drawing shipped with matplotlib (available offline)."""
    with Image.open(cbook.get_sample_data(name, asfileobj=False)) as image:
        return np.asarray(image.convert("RGB"))


def test_gray_conversion_is_bit_exact_for_every_colour():
    codes = np.arange(1 << 24, dtype=np.uint32)
    every_colour = np.stack([codes >> 16, codes >> 8, codes], axis=-1).astype(np.uint8).reshape(4096, 4096, 3)
    for rows in range(0, 4096, 1024):
        chunk = np.ascontiguousarray(every_colour[rows : rows + 1024])
        expected = cv2.cvtColor(chunk, cv2.COLOR_RGB2GRAY)
        got = opencv_gray(torch.from_numpy(chunk).permute(2, 0, 1)[None])[0].numpy()
        assert np.array_equal(got, expected), f"rows {rows}..: {np.count_nonzero(got != expected)} colours differ"


def test_the_two_opencv_recipes_differ_and_the_installed_one_is_probed():
    pixel = torch.tensor([0, 0, 250], dtype=torch.uint8).reshape(1, 3, 1, 1)
    assert opencv_gray(pixel, "opencv4").item() == 29  # (1868·250 + 8192) >> 14
    assert opencv_gray(pixel, "opencv5").item() == 28  # (3735·250 + 16384) >> 15
    assert installed_gray_recipe() == ("opencv5" if cv2.__version__.startswith("5") else "opencv4")
    for red, green, blue, shift in GRAY_RECIPES.values():
        assert red + green + blue == 1 << shift  # white stays white, gray stays gray


def test_metric_records_the_recipe_it_used_and_rejects_unknown_ones():
    assert VarianceOfLaplacian().describe()["params"] == {"gray": installed_gray_recipe()}
    assert VarianceOfLaplacian(gray="opencv4").p["gray"] == "opencv4"
    with pytest.raises(UsageError, match="opencv3"):
        VarianceOfLaplacian(gray="opencv3")


def test_matches_opencv_on_real_mnist_digits(mnist_test_digits):
    digits = mnist_test_digits[0][:300]
    rgb = np.repeat(digits[..., None], 3, axis=-1)
    expected = np.array([opencv_vol(image) for image in rgb])
    np.testing.assert_allclose(ours(rgb), expected, rtol=1e-9, atol=0)
    assert expected.min() > 1000  # real digits have edges: the comparison is not 0 == 0


@pytest.mark.parametrize("name", ["grace_hopper.jpg", "Minduka_Present_Blue_Pack.png", "logo2.png"])
@pytest.mark.parametrize("height, width", [(97, 61), (33, 127), (3, 2), (2, 5), (128, 129)])
def test_matches_opencv_on_real_rgb_images_of_odd_sizes(name, height, width):
    image = sample_image(name)
    top, left = (image.shape[0] - height) // 2, (image.shape[1] - width) // 2
    crop = np.ascontiguousarray(image[max(top, 0) : max(top, 0) + height, max(left, 0) : max(left, 0) + width])
    np.testing.assert_allclose(ours(crop[None]), [opencv_vol(crop)], rtol=1e-9, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 4), st.integers(2, 23), st.integers(2, 23), st.just(3))))
def test_matches_opencv_on_random_rgb_images(stack):
    expected = [opencv_vol(np.ascontiguousarray(image)) for image in stack]
    np.testing.assert_allclose(ours(stack), expected, rtol=1e-9, atol=1e-12)


def test_images_too_small_for_the_kernel_are_refused():
    with pytest.raises(ValueError, match="too small"):
        variance_of_laplacian(torch.zeros(1, 3, 1, 8, dtype=torch.uint8))


def test_compute_reports_mean_std_median_and_ratio_to_the_reference():
    metric = VarianceOfLaplacian()
    generated, reference = State(metric.state_spec()), State(metric.state_spec())
    generated.append("values", torch.tensor([1.0, 2.0, 3.0, 10.0], dtype=torch.float64))
    reference.append("values", torch.tensor([4.0, 2.0, 6.0], dtype=torch.float64))
    values = metric.compute(generated, reference)
    assert values["mean"] == 4.0 and values["median"] == 2.5  # even count: mean of the middle two
    assert values["std"] == pytest.approx(np.std([1, 2, 3, 10]), rel=1e-15)
    assert values["ref_mean"] == 4.0 and values["ref_median"] == 4.0
    assert values["ratio"] == 1.0
    assert set(metric.compute(generated, None)) == {"mean", "std", "median"}


def test_a_failure_inside_the_metric_names_the_laplacian_plugin(tmp_path, builtin_registry):
    from gan_eval.scoring import ScoreConfig, score

    folder = tmp_path / "thin"
    folder.mkdir()
    Image.fromarray(np.zeros((1, 9, 3), np.uint8)).save(folder / "a.png")
    with pytest.raises(PluginError, match="plugin 'laplacian'.*too small"):
        score(builtin_registry, ScoreConfig(generated=str(folder), metrics=["laplacian"], device="cpu"))
