"""The recipe that trains the bundled domain classifiers (``mnist-cnn``, ``fashion-cnn``).

``gan-eval train classifier --domain mnist|fashion`` rebuilds ``gan_eval_plugins/weights/NAME.pt``
and its card ``NAME.json``. Everything random (initialisation, shuffling, augmentation, dropout)
comes from the seed; deterministic algorithms and a fixed thread count make the weights, and so
their SHA-256, identical on the same platform and torch version. Elsewhere the accuracy is the same
to within a few tenths of a percent.
"""

from __future__ import annotations

import dataclasses
import math
import platform
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import click
import numpy as np
import torch
import torch.nn.functional as F

from gan_eval.errors import UsageError
from gan_eval_plugins.domain.net import DomainNet, normalise
from gan_eval_plugins.domain.weights import BUNDLED_DIR, write_weights
from gan_eval_plugins.sources.datasets import load_dataset


@dataclass(frozen=True)
class ClassifierRecipe:
    """Every choice that determines the trained weights (stored in the weights card)."""

    name: str
    dataset: str
    train_split: str
    test_split: str
    classes: tuple[str, ...]
    epochs: int
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 5e-4
    label_smoothing: float = 0.0
    #: random affine augmentation: max rotation (degrees), max shift (pixels), max relative zoom
    rotate: float = 0.0
    shift: float = 0.0
    zoom: float = 0.0
    hflip: bool = False
    seed: int = 0
    threads: int = 1
    #: stop after this many optimiser steps (smoke tests); None: all epochs
    max_steps: int | None = None


DIGITS = tuple(str(d) for d in range(10))
FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

#: The recipes of the bundled weights, by domain.
RECIPES: dict[str, ClassifierRecipe] = {
    "mnist": ClassifierRecipe(
        name="mnist-cnn",
        dataset="mnist5k",
        train_split="train",
        test_split="test",
        classes=DIGITS,
        epochs=30,
        batch_size=64,
        rotate=12.0,
        shift=2.0,
        zoom=0.1,
    ),
    "fashion": ClassifierRecipe(
        name="fashion-cnn",
        dataset="fashion-mnist",
        train_split="train",
        test_split="test",
        classes=FASHION,
        epochs=8,
        batch_size=128,
        hflip=True,
    ),
}


@contextmanager
def reproducible(threads: int) -> Iterator[None]:
    """Deterministic kernels and a fixed thread count for the duration (restored afterwards)."""
    old_threads, old_det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det)


def augment(x: torch.Tensor, recipe: ClassifierRecipe, generator: torch.Generator) -> torch.Tensor:
    """Random rotation/zoom/shift (one affine warp, zero = black padding) and horizontal flips."""
    n = x.shape[0]
    if recipe.rotate or recipe.shift or recipe.zoom:
        u = torch.rand(n, 4, generator=generator) * 2.0 - 1.0
        angle = u[:, 0] * math.radians(recipe.rotate)
        scale = 1.0 + u[:, 1] * recipe.zoom
        shift = u[:, 2:] * (2.0 * recipe.shift / x.shape[-1])
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if recipe.hflip:
        flip = torch.rand(n, generator=generator) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    return x


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 N×28×28 to float N×1×28×28 in [0, 1]."""
    return torch.from_numpy(np.array(images, dtype=np.uint8)).float().div_(255.0)[:, None]


def train_classifier(recipe: ClassifierRecipe, progress: Callable[[int, int, float], None] | None = None) -> DomainNet:
    """Train a :class:`DomainNet` by ``recipe`` on its dataset's training split (CPU, seeded)."""
    images, labels = load_dataset(recipe.dataset, recipe.train_split)
    x_all, y_all = to_tensor(images), torch.from_numpy(labels)
    steps_per_epoch = math.ceil(len(x_all) / recipe.batch_size)
    total = steps_per_epoch * recipe.epochs
    if recipe.max_steps is not None:
        total = min(total, recipe.max_steps)
    with reproducible(recipe.threads):
        torch.manual_seed(recipe.seed)
        net = DomainNet(classes=len(recipe.classes))
        generator = torch.Generator().manual_seed(recipe.seed + 1)
        optimiser = torch.optim.AdamW(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=recipe.lr, total_steps=total, pct_start=0.15)
        net.train()
        step = 0
        while step < total:
            order = torch.randperm(len(x_all), generator=generator)
            for start in range(0, len(order), recipe.batch_size):
                if step >= total:
                    break
                index = order[start : start + recipe.batch_size]
                x = normalise(augment(x_all[index], recipe, generator))
                _, logits = net(x)
                loss = F.cross_entropy(logits, y_all[index], label_smoothing=recipe.label_smoothing)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                schedule.step()
                step += 1
                if progress is not None:
                    progress(step, total, float(loss.detach()))
    return net.eval()


@torch.inference_mode()
def accuracy(net: DomainNet, images: np.ndarray, labels: np.ndarray, batch_size: int = 1000) -> float:
    """Fraction of ``images`` (uint8 N×28×28) whose arg-max logit is the label."""
    net.eval()
    correct = 0
    for start in range(0, len(images), batch_size):
        _, logits = net(normalise(to_tensor(images[start : start + batch_size])))
        correct += int((logits.argmax(1).numpy() == labels[start : start + batch_size]).sum())
    return correct / len(images)


def build(recipe: ClassifierRecipe, out_dir: Path, progress: Callable[[int, int, float], None] | None = None) -> dict[str, Any]:
    """Train, measure held-out accuracy, write ``NAME.pt`` + ``NAME.json`` in ``out_dir``; return the card."""
    net = train_classifier(recipe, progress)
    test_images, test_labels = load_dataset(recipe.dataset, recipe.test_split)
    held_out = accuracy(net, test_images, test_labels)
    card = {
        "name": recipe.name,
        "architecture": {
            "class": "gan_eval_plugins.domain.net.DomainNet",
            "classes": len(recipe.classes),
            "input": "1×28×28 gray, x/255*2-1",
            "features": "128-d global-average pool (penultimate)",
            "logits": f"{len(recipe.classes)} classes",
        },
        "classes": list(recipe.classes),
        "trained_on": f"dataset:{recipe.dataset}:{recipe.train_split}",
        "recipe": {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(recipe).items() if k != "classes"},
        "accuracy": {f"dataset:{recipe.dataset}:{recipe.test_split}": round(held_out, 6)},
        "built_with": {
            "torch": torch.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "machine": platform.machine(),
        },
        "command": rebuild_command(recipe),
    }
    return write_weights(net, out_dir / f"{recipe.name}.pt", card)


def rebuild_command(recipe: ClassifierRecipe) -> str:
    domain = next(d for d, r in RECIPES.items() if r.name == recipe.name)
    defaults = RECIPES[domain]
    extra = [f"--{k.replace('_', '-')} {getattr(recipe, k)}" for k in ("epochs", "seed", "threads", "max_steps") if getattr(recipe, k) != getattr(defaults, k)]
    return " ".join(["gan-eval train classifier --domain", domain, *extra])


@click.command("classifier")
@click.option("--domain", type=click.Choice(sorted(RECIPES)), required=True, help="Which bundled net to train: mnist (mnist-cnn) or fashion (fashion-cnn).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=str(BUNDLED_DIR),
    show_default=True,
    help="Directory for NAME.pt and NAME.json (default: the package's bundled weights).",
)
@click.option("--epochs", type=click.IntRange(min=1), help="Epochs over the training split (default: the recipe's).")
@click.option("--seed", type=int, help="Seed of initialisation, shuffling, augmentation and dropout (default 0).")
@click.option("--threads", type=click.IntRange(min=1), help="CPU threads (default 1: the thread count can change the bits of the result).")
@click.option("--max-steps", type=click.IntRange(min=1), help="Stop after this many optimiser steps (quick smoke runs).")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
def classifier_command(domain: str, out_dir: str, epochs: int | None, seed: int | None, threads: int | None, max_steps: int | None, quiet: bool) -> None:
    """Train a bundled domain classifier (the offline feature extractor for FID/IS/KID).

    Trains by the seeded recipe on the real data that installs offline (mnist: the 4,000 training
    digits of dataset:mnist5k; fashion: Fashion-MNIST's 60,000 training images), measures held-out
    accuracy on the matching test split, and writes NAME.pt (a plain state dict) and NAME.json
    (its SHA-256, the recipe, the accuracy). With the defaults, on the same platform and torch
    version, the SHA-256 equals the bundled file's. See docs/train-classifier.md.

    \b
    Examples:
      gan-eval train classifier --domain mnist
      gan-eval train classifier --domain fashion --out /tmp/nets --epochs 2
    """
    changes = {k: v for k, v in {"epochs": epochs, "seed": seed, "threads": threads, "max_steps": max_steps}.items() if v is not None}
    recipe = dataclasses.replace(RECIPES[domain], **changes)
    if recipe.batch_size < 2:
        raise UsageError("batch size must be at least 2 (batch normalisation)")

    def report(step: int, total: int, loss: float) -> None:
        if step == total or step % 100 == 0:
            click.echo(f"step {step}/{total}  loss {loss:.4f}", err=True)

    card = build(recipe, Path(out_dir), None if quiet else report)
    for split, value in card["accuracy"].items():
        click.echo(f"{card['name']}: held-out accuracy on {split}: {value:.4f}")
    click.echo(f"wrote {Path(out_dir) / card['file']}  sha256 {card['sha256']}")


if __name__ == "__main__":  # pragma: no cover
    classifier_command(sys.argv[1:])
