"""The bundled domain extractors: held-out accuracy on real data, weights integrity, preprocessing,
and auto-selection between mnist-cnn and fashion-cnn."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from gan_eval.errors import GanEvalError, InputError
from gan_eval.extractor import SourceInfo
from gan_eval.scoring import select_extractor
from gan_eval_plugins.domain import FashionCnn, MnistCnn
from gan_eval_plugins.domain.selection import domain_from_name
from gan_eval_plugins.domain.weights import BUNDLED_DIR, sha256_of
from gan_eval_plugins.sources.datasets import load_dataset


@pytest.fixture(autouse=True)
def no_inception_weights(monkeypatch, tmp_path):
    """Auto-selection falls back to the domain nets only when the Inception weights are absent."""
    monkeypatch.delenv("GAN_EVAL_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))


def rgb(gray: np.ndarray) -> torch.Tensor:
    """uint8 N×28×28 as the engine hands it over: uint8 N×3×H×W."""
    return torch.from_numpy(np.repeat(gray[:, None], 3, axis=1))


def predict(extractor, gray: np.ndarray, batch: int = 1000) -> np.ndarray:
    return np.concatenate([extractor(rgb(gray[i : i + batch]))["logits"].argmax(1).numpy() for i in range(0, len(gray), batch)])


@pytest.fixture(scope="module")
def mnist():
    return MnistCnn("cpu")


@pytest.fixture(scope="module")
def fashion():
    return FashionCnn("cpu")


@pytest.fixture(scope="module")
def fashion_test():
    try:
        return load_dataset("fashion-mnist", "test")
    except InputError as exc:
        pytest.skip(str(exc))


# --- acceptance: held-out accuracy on real data ------------------------------------------------------


def test_mnist_cnn_accuracy_on_held_out_mnist5k_test_digits(mnist, mnist_test_digits):
    images, labels = mnist_test_digits
    assert len(images) == 1000
    accuracy = (predict(mnist, images) == labels).mean()
    assert accuracy >= 0.98, accuracy


def test_fashion_cnn_accuracy_on_fashion_mnist_test_images(fashion, fashion_test):
    images, labels = fashion_test
    assert len(images) == 10000
    accuracy = (predict(fashion, images) == labels).mean()
    assert accuracy >= 0.90, accuracy


def test_mnist_training_data_excludes_the_held_out_digits(mnist_test_digits):
    train, _ = load_dataset("mnist5k", "train")
    train_rows = {row.tobytes() for row in train.reshape(len(train), -1)}
    held_out = mnist_test_digits[0].reshape(1000, -1)
    assert sum(row.tobytes() in train_rows for row in held_out) == 0


# --- weights integrity ---------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [MnistCnn, FashionCnn])
def test_bundled_weights_match_their_card_and_are_small(cls):
    path = BUNDLED_DIR / f"{cls.name}.pt"
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["name"] == cls.name and card["file"] == path.name
    assert sha256_of(path) == card["sha256"]
    assert path.stat().st_size < 600_000
    assert card["recipe"]["seed"] == 0 and card["trained_on"].startswith("dataset:")
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())


def copy_weights(tmp_path, name="mnist-cnn"):
    for suffix in (".pt", ".json"):
        shutil.copy(BUNDLED_DIR / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
    return tmp_path / f"{name}.pt"


def test_a_tampered_weights_file_is_refused_naming_it(tmp_path):
    path = copy_weights(tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="SHA-256") as info:
        MnistCnn("cpu", weights=str(path))
    assert str(path) in str(info.value)


def test_a_card_naming_another_hash_is_refused(tmp_path):
    path = copy_weights(tmp_path)
    card = json.loads(path.with_suffix(".json").read_text())
    card["sha256"] = "0" * 64
    path.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(InputError, match="does not match"):
        MnistCnn("cpu", weights=str(path))


def test_missing_weights_make_the_extractor_unavailable_with_the_rebuild_command(tmp_path):
    reason = MnistCnn.unavailable_reason({"weights": str(tmp_path / "none.pt")})
    assert "none.pt" in reason and "gan-eval train classifier --domain mnist" in reason
    path = copy_weights(tmp_path)
    path.with_suffix(".json").unlink()
    assert "card" in MnistCnn.unavailable_reason({"weights": str(path)})
    assert MnistCnn.unavailable_reason({}) is None


def test_identity_records_hash_training_data_and_non_standard(mnist):
    identity = mnist.identity()
    assert identity["extractor"] == "mnist-cnn" and identity["standard"] is False
    assert identity["weights_sha256"] == sha256_of(BUNDLED_DIR / "mnist-cnn.pt")
    assert identity["trained_on"] == "dataset:mnist5k:train"
    assert "not Inception" in identity["comparable_with"]


# --- outputs and preprocessing -------------------------------------------------------------------


def test_outputs_are_128_features_and_10_logits_independent_of_batching(mnist, mnist_test_digits):
    images = mnist_test_digits[0][:40]
    whole = mnist(rgb(images))
    assert whole["features"].shape == (40, 128) and whole["logits"].shape == (40, 10)
    assert whole["features"].dtype == torch.float32
    parts = [mnist(rgb(images[i : i + 7])) for i in range(0, 40, 7)]
    for key in ("features", "logits"):
        torch.testing.assert_close(torch.cat([p[key] for p in parts]), whole[key], rtol=1e-5, atol=1e-5)


def test_gray_stored_as_rgb_equals_single_channel_and_colour_is_reduced_with_a_warning(mnist, mnist_test_digits):
    images = mnist_test_digits[0][:8]
    as_rgb = mnist(rgb(images))["features"]
    as_gray = mnist(torch.from_numpy(images[:, None].copy()))["features"]
    torch.testing.assert_close(as_rgb, as_gray, rtol=0, atol=0)
    tinted = rgb(images).clone()
    tinted[:, 2] //= 2
    extractor = MnistCnn("cpu")
    with pytest.warns(UserWarning, match="reduced to gray"):
        extractor(tinted)


def test_other_sizes_are_resized_with_a_warning_and_keep_their_class(mnist_test_digits):
    images, labels = mnist_test_digits
    big = torch.nn.functional.interpolate(rgb(images[:200]).float(), size=(56, 56), mode="nearest").to(torch.uint8)
    extractor = MnistCnn("cpu")
    with pytest.warns(UserWarning, match="56×56 images are resized to 28×28"):
        predicted = extractor(big)["logits"].argmax(1).numpy()
    assert (predicted == labels[:200]).mean() >= 0.95


# --- auto-selection ------------------------------------------------------------------------------


def gray28(**extra):
    return SourceInfo(height=28, width=28, channels=1, kind="folder", **extra)


@pytest.mark.parametrize("name, domain", [("mnist5k", "mnist"), ("fashion-mnist", "fashion"), ("FashionMNIST", "fashion"), ("cifar10", None), (None, None)])
def test_dataset_names_map_to_domains(name, domain):
    assert domain_from_name(name) == domain


def test_auto_uses_the_stated_dataset_preferring_the_reference(builtin_registry):
    info = gray28(dataset="mnist5k", reference=dict(gray28(dataset="fashion-mnist")))
    chosen = select_extractor(builtin_registry, "auto", {}, info, torch.device("cpu"))
    assert chosen.name == "fashion-cnn"
    chosen = select_extractor(builtin_registry, "auto", {}, gray28(dataset="mnist5k"), torch.device("cpu"))
    assert chosen.name == "mnist-cnn"


def test_auto_data_test_tells_digits_from_clothes_without_names(builtin_registry, mnist_test_digits, fashion_test):
    for images, expected in ((mnist_test_digits[0], "mnist-cnn"), (fashion_test[0], "fashion-cnn")):
        sample = rgb(images[:256]).numpy()
        chosen = select_extractor(builtin_registry, "auto", {}, gray28(sample=lambda n, s=sample: s[:n]), torch.device("cpu"))
        assert chosen.name == expected


def test_auto_refuses_domain_nets_for_other_sizes_and_colour():
    assert not MnistCnn.suits(SourceInfo(height=32, width=32, channels=1, dataset="mnist5k"))
    assert not MnistCnn.suits(SourceInfo(height=28, width=28, channels=3, dataset="mnist5k"))
    assert not FashionCnn.suits(gray28(dataset="mnist5k"))


def test_auto_with_no_evidence_picks_no_domain_net(builtin_registry):
    info = gray28()
    assert not MnistCnn.suits(info) and not FashionCnn.suits(info)


def test_explicit_choice_with_missing_weights_says_why(builtin_registry):
    with pytest.raises(GanEvalError, match="cannot run: weights file /nonexistent/x.pt not found"):
        select_extractor(builtin_registry, "mnist-cnn", {"weights": "/nonexistent/x.pt"}, gray28(), torch.device("cpu"))
