"""The classifier recipe: a few-step smoke run through the CLI, seeded reproducibility, and that
what it writes is exactly what the domain extractor loads."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from gan_eval_plugins.domain import MnistCnn
from gan_eval_plugins.domain.weights import BUNDLED_DIR, sha256_of
from trainers.classifier import RECIPES, augment, rebuild_command, train_classifier


def test_cli_smoke_run_writes_weights_and_a_card_the_extractor_accepts(run_cli, tmp_path):
    result = run_cli("train", "classifier", "--domain", "mnist", "--out", tmp_path, "--max-steps", "3", "-q")
    assert result.exit_code == 0, result.output
    weights = tmp_path / "mnist-cnn.pt"
    card = json.loads((tmp_path / "mnist-cnn.json").read_text())
    assert card["sha256"] == sha256_of(weights) and card["sha256"] in result.output
    assert card["recipe"]["max_steps"] == 3 and card["trained_on"] == "dataset:mnist5k:train"
    assert 0.0 <= card["accuracy"]["dataset:mnist5k:test"] <= 1.0
    assert card["command"] == "gan-eval train classifier --domain mnist --max-steps 3"
    extractor = MnistCnn("cpu", weights=str(weights))
    assert extractor.identity()["weights_sha256"] == card["sha256"]
    out = extractor(torch.zeros(2, 3, 28, 28, dtype=torch.uint8))
    assert out["features"].shape == (2, 128)


def test_same_seed_gives_identical_weights_and_another_seed_does_not():
    recipe = dataclasses.replace(RECIPES["mnist"], max_steps=2)
    first, again = train_classifier(recipe), train_classifier(recipe)
    other = train_classifier(dataclasses.replace(recipe, seed=1))
    for key, value in first.state_dict().items():
        assert torch.equal(value, again.state_dict()[key]), key
    assert not torch.equal(first.head.weight, other.head.weight)


def test_training_lowers_the_loss_on_its_own_batches():
    recipe = dataclasses.replace(RECIPES["mnist"], max_steps=40)
    losses = []
    train_classifier(recipe, progress=lambda step, total, loss: losses.append(loss))
    assert len(losses) == 40
    assert sum(losses[-5:]) / 5 < 0.6 * sum(losses[:5]) / 5


def test_augmentation_is_seeded_and_keeps_black_background():
    recipe = RECIPES["mnist"]
    x = torch.zeros(4, 1, 28, 28)
    x[:, :, 10:18, 10:18] = 1.0
    a = augment(x, recipe, torch.Generator().manual_seed(0))
    b = augment(x, recipe, torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and not torch.equal(a, x)
    assert a[:, :, 0, 0].abs().max() == 0 and a.min() >= 0 and a.max() <= 1


@pytest.mark.parametrize("domain", sorted(RECIPES))
def test_bundled_cards_record_the_default_recipe(domain):
    recipe = RECIPES[domain]
    card = json.loads((BUNDLED_DIR / f"{recipe.name}.json").read_text())
    expected = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(recipe).items() if k != "classes"}
    assert card["recipe"] == expected
    assert card["command"] == rebuild_command(recipe) == f"gan-eval train classifier --domain {domain}"
