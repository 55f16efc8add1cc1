"""``gan-eval train teacher`` and ``gan-eval train student``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .training import TrainConfig, train


def resolve_train_device(name: str) -> str:
    if name == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def common_options(f):
    """Options every training command shares."""
    options = [
        click.option("--d", "d", type=click.IntRange(min=1), default=16, show_default=True,
                     help="Depth factor: width of the layer nearest the image; each layer further in doubles it (parameters grow ≈ ∝ d²)."),
        click.option("--steps", type=click.IntRange(min=1), default=1000, show_default=True, help="Generator updates to train for (in total, also when resuming)."),
        click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True, help="Images (and latents) per update."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seeds the initial weights and every random draw of every step."),
        click.option("--lr", type=float, help="Learning rate (default per loss: gan 2e-4, wgan-clip 5e-5, wgan-gp 1e-4, mse 5e-3, joint 2e-4)."),
        click.option("--checkpoint-every", type=click.IntRange(min=1), default=200, show_default=True, help="Write the checkpoint and training state every N steps (and at the end)."),
        click.option("--device", default="cpu", show_default=True, help="torch device: cpu, cuda, cuda:1 or auto. Exact resume is guaranteed on the CPU."),
        click.option("--resume", is_flag=True, help="Continue from OUT's training state (OUT minus .pt plus .train.pt) if it exists."),
        click.option("--overwrite", is_flag=True, help="Start again even if OUT's training state exists."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bar."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def run_and_report(config: TrainConfig, out: str, kw: dict[str, Any]) -> dict[str, Any]:
    record = train(config, Path(out), resume=kw["resume"], overwrite=kw["overwrite"], progress=not kw["quiet"])
    line = f"{out}: {record['role']} {record['arch']} d={record['d']} loss={record['loss']}, {record['parameters']:,} generator parameters"
    if record.get("compression_ratio"):
        line += f" (teacher {record['teacher_parameters']:,}: compression {record['compression_ratio']:.2f}×)"
    click.echo(line + f", {record['steps']} steps; losses " + ", ".join(f"{k}={v:.4f}" for k, v in record["last_losses"].items()))
    return record


def config_from(kw: dict[str, Any], **fields: Any) -> TrainConfig:
    return TrainConfig(
        d=kw["d"], steps=kw["steps"], batch_size=kw["batch_size"], seed=kw["seed"], lr=kw["lr"],
        checkpoint_every=kw["checkpoint_every"], device=resolve_train_device(kw["device"]), **fields,
    )


@click.command("teacher")
@click.option("--data", default="dataset:mnist5k:train", show_default=True, help="Training images: any source spec (dataset:fashion-mnist:train, a folder, an .npz). Sizes 28, 32 or 64, gray or RGB.")
@click.option("--loss", type=click.Choice(["gan", "wgan-clip", "wgan-gp"]), default="gan", show_default=True,
              help="gan: DCGAN, non-saturating loss. wgan-clip: W-DCGAN with weight clipping (RMSprop, 5 critic steps). wgan-gp: W-DCGAN with gradient penalty (Adam, 5 critic steps).")
@click.option("--role", type=click.Choice(["teacher", "scratch"]), default="teacher", show_default=True, help="Recorded role: 'scratch' marks a small model trained from scratch as the control for distilled students.")
@click.option("--latent", type=click.IntRange(min=1), default=100, show_default=True, help="Latent size.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Checkpoint to write (NAME.pt, plus NAME.json and the training state NAME.train.pt).")
@common_options
def teacher_command(data: str, loss: str, role: str, latent: int, out: str, **kw: Any) -> None:
    """Train a DCGAN / W-DCGAN generator of depth factor --d (a teacher, or a from-scratch control).

    \b
    Example:
      gan-eval train teacher --d 32 --steps 2000 --out runs/teacher-d32.pt
      gan-eval score runs/teacher-d32.pt --num 1000 --ref dataset:mnist5k:test
    """
    run_and_report(config_from(kw, role=role, loss=loss, data=data, latent=latent), out, kw)


@click.command("student")
@click.option("--teacher", required=True, type=click.Path(exists=True, dir_okay=False), help="Teacher checkpoint (from 'gan-eval train teacher').")
@click.option("--loss", type=click.Choice(["mse", "joint"]), default="mse", show_default=True,
              help="mse: mean squared error to the teacher's image for the same latent (eq. 3). joint: λ·MSE + (1−λ)·adversarial loss with a student discriminator on real data (eq. 4).")
@click.option("--lambda", "lam", type=click.FloatRange(0.0, 1.0), default=0.5, show_default=True, help="λ of the joint loss (weight of the MSE term).")
@click.option("--data", default=None, help="Real images for the joint loss's discriminator (default: the teacher's training data).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Checkpoint to write (NAME.pt, plus NAME.json and NAME.train.pt).")
@common_options
def student_command(teacher: str, loss: str, lam: float, data: str | None, out: str, **kw: Any) -> None:
    """Distil a smaller generator of depth factor --d from a teacher.

    The student has the teacher's architecture family, latent size and image size; only d differs.
    Its record names the teacher (path, SHA-256, parameters) and the compression ratio.

    \b
    Example:
      gan-eval train student --teacher runs/teacher-d32.pt --d 8 --loss joint --out runs/student-d8.pt
    """
    run_and_report(config_from(kw, role="student", loss=loss, lam=lam, teacher=teacher, data=data or teacher_data(teacher)), out, kw)


def teacher_data(teacher: str) -> str:
    from .checkpoint import read_checkpoint

    return str(read_checkpoint(teacher)["record"].get("data") or "dataset:mnist5k:train")
