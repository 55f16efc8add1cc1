"""``gan-eval train teacher`` and ``gan-eval train student``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gan_eval.errors import UsageError

from .presets import PRESETS, get_preset
from .training import DISC_INITS, TrainConfig, train

#: what an option left unset means when no preset sets it
BASE_DEFAULTS = {"d": 16, "steps": 1000, "batch_size": 64}


def resolve_train_device(name: str) -> str:
    if name == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def common_options(f):
    """Options every training command shares."""
    options = [
        click.option(
            "--d",
            "d",
            type=click.IntRange(min=1),
            help="Depth factor: width of the layer nearest the image; each layer further in doubles it (parameters grow ≈ ∝ d²). Default 16, or the preset's.",
        ),
        click.option("--steps", type=click.IntRange(min=1), help="Generator updates to train for (in total, also when resuming). Default 1000."),
        click.option("--batch-size", type=click.IntRange(min=1), help="Images (and latents) per update. Default 64."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seeds the initial weights and every random draw of every step."),
        click.option("--lr", type=float, help="Learning rate (default per loss: gan 2e-4, wgan-clip 5e-5, wgan-gp 1e-4, mse 5e-3, joint 2e-4)."),
        click.option(
            "--preset",
            type=click.Choice(sorted(PRESETS)),
            help="The paper's settings: 64×64 images (MNIST upsampled), latent 100, its teacher d, W-DCGAN with the reference WGAN optimiser (or --loss gan: DCGAN's). Options given explicitly win. See docs/trainers.md.",
        ),
        click.option(
            "--ema",
            type=float,
            metavar="DECAY",
            help="Keep an exponential moving average of the generator (e.g. 0.999); it is what is sampled, scored and stored beside the raw weights.",
        ),
        click.option(
            "--eval-every",
            type=click.IntRange(min=1),
            metavar="STEPS",
            help="Evaluate every STEPS steps and at the end (through gan_eval.Evaluator); a row per evaluation in OUT.log.csv.",
        ),
        click.option("--eval-metrics", default="fid,is", show_default=True, help="Comma-separated metrics of the evaluation."),
        click.option("--eval-num", type=click.IntRange(min=1), default=1000, show_default=True, help="Images per evaluation."),
        click.option("--eval-ref", help="Reference of the evaluation (default: the training dataset's test split, e.g. dataset:mnist5k:test)."),
        click.option("--eval-extractor", default="auto", show_default=True, help="Feature extractor of the evaluation."),
        click.option("--eval-seed", type=int, default=0, show_default=True, help="Latent seed of the evaluation (as 'gan-eval score --seed')."),
        click.option(
            "--keep-best",
            metavar="METRIC",
            help="Also keep OUT.best.pt, the checkpoint with the best evaluated METRIC: fid, kid (lower is better), is, pr (higher), or min:KEY / max:KEY for any logged value.",
        ),
        click.option(
            "--sample-every",
            type=click.IntRange(min=1),
            metavar="STEPS",
            help="Write a grid of 64 samples from a fixed latent batch to OUT.samples/step-NNNNNNN.png every STEPS steps.",
        ),
        click.option(
            "--checkpoint-every",
            type=click.IntRange(min=1),
            default=200,
            show_default=True,
            help="Write the checkpoint and training state every N steps (and at the end).",
        ),
        click.option("--device", default="cpu", show_default=True, help="torch device: cpu, cuda, cuda:1 or auto. Exact resume is guaranteed on the CPU."),
        click.option(
            "--dry-run", is_flag=True, help="Print the generator's and discriminator's parameter counts, MACs per image and memory, then exit without training."
        ),
        click.option("--resume", is_flag=True, help="Continue from OUT's training state (OUT minus .pt plus .train.pt) if it exists."),
        click.option("--overwrite", is_flag=True, help="Start again even if OUT's training state exists."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bar."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def run_and_report(config: TrainConfig, out: str | None, kw: dict[str, Any]) -> dict[str, Any] | None:
    if kw["dry_run"]:
        from .dry_run import describe

        for line in describe(config):
            click.echo(line)
        return None
    if not out:
        raise UsageError("--out is required (except with --dry-run)")
    record = train(config, Path(out), resume=kw["resume"], overwrite=kw["overwrite"], progress=not kw["quiet"])
    line = f"{out}: {record['role']} {record['arch']} d={record['d']} loss={record['loss']}, {record['parameters']:,} generator parameters"
    if record.get("compression_ratio"):
        line += f" (teacher {record['teacher_parameters']:,}: compression {record['compression_ratio']:.2f}×)"
    click.echo(line + f", {record['steps']} steps; losses " + ", ".join(f"{k}={v:.4f}" for k, v in record["last_losses"].items()))
    return record


def config_from(kw: dict[str, Any], **fields: Any) -> TrainConfig:
    """The run's config: explicit options, then the preset's values, then the base defaults."""
    preset = get_preset(kw.get("preset"))
    chosen = {key: kw[key] if kw.get(key) is not None else getattr(preset, key, default) for key, default in BASE_DEFAULTS.items()}
    if preset is not None:
        fields.setdefault("latent", preset.latent)
        if fields.get("loss") is None:
            fields["loss"] = preset.loss
        if fields.get("role", "teacher") != "student":
            if fields.get("data") is None:
                fields["data"] = preset.data or ""
            fields["size"] = preset.size
        if fields["loss"].startswith("wgan"):
            fields.setdefault("critic_schedule", preset.critic_schedule)
    metrics = [m.strip() for m in (kw.get("eval_metrics") or "").split(",") if m.strip()]
    return TrainConfig(
        **chosen,
        seed=kw["seed"],
        lr=kw["lr"],
        checkpoint_every=kw["checkpoint_every"],
        device=resolve_train_device(kw["device"]),
        ema=kw.get("ema"),
        eval_every=kw.get("eval_every"),
        eval_metrics=metrics,
        eval_num=kw.get("eval_num") or 1000,
        eval_reference=kw.get("eval_ref"),
        eval_extractor=kw.get("eval_extractor") or "auto",
        eval_seed=kw.get("eval_seed") or 0,
        keep_best=kw.get("keep_best"),
        sample_every=kw.get("sample_every"),
        preset=kw.get("preset"),
        **{k: v for k, v in fields.items() if v is not None or k in ("teacher",)},
    )


@click.command("teacher")
@click.option(
    "--data",
    help="Training images: any source spec (dataset:fashion-mnist:train, a folder, an .npz). Sizes 28, 32 or 64, gray or RGB. Default dataset:mnist5k:train (with a CIFAR-10/Celeb-A preset: required, their data does not install offline).",
)
@click.option(
    "--loss",
    type=click.Choice(["gan", "wgan-clip", "wgan-gp"]),
    help="gan (the default; with a preset: wgan-clip): DCGAN, non-saturating loss. wgan-clip: W-DCGAN with weight clipping (RMSprop, 5 critic steps). wgan-gp: W-DCGAN with gradient penalty (Adam, 5 critic steps).",
)
@click.option(
    "--role",
    type=click.Choice(["teacher", "scratch"]),
    default="teacher",
    show_default=True,
    help="Recorded role: 'scratch' marks a small model trained from scratch as the control for distilled students.",
)
@click.option("--latent", type=click.IntRange(min=1), help="Latent size (default 100).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Checkpoint to write (NAME.pt, plus NAME.json and the training state NAME.train.pt). Required unless --dry-run.",
)
@common_options
def teacher_command(data: str | None, loss: str | None, role: str, latent: int | None, out: str | None, **kw: Any) -> None:
    """Train a DCGAN / W-DCGAN generator of depth factor --d (a teacher, or a from-scratch control).

    \b
    Example:
      gan-eval train teacher --d 32 --steps 2000 --out runs/teacher-d32.pt
      gan-eval score runs/teacher-d32.pt --num 1000 --ref dataset:mnist5k:test
    """
    if not kw.get("preset"):
        loss, data, latent = loss or "gan", data or "dataset:mnist5k:train", latent or 100
    run_and_report(config_from(kw, role=role, loss=loss, data=data, latent=latent), out, kw)


@click.command("student")
@click.option("--teacher", required=True, type=click.Path(exists=True, dir_okay=False), help="Teacher checkpoint (from 'gan-eval train teacher').")
@click.option(
    "--loss",
    type=click.Choice(["mse", "joint"]),
    default="mse",
    show_default=True,
    help="mse: mean squared error to the teacher's image for the same latent (eq. 3). joint: λ·MSE + (1−λ)·adversarial loss with a student discriminator on real data (eq. 4).",
)
@click.option("--lambda", "lam", type=click.FloatRange(0.0, 1.0), default=0.5, show_default=True, help="λ of the joint loss (weight of the MSE term).")
@click.option("--data", default=None, help="Real images for the joint loss's discriminator (default: the teacher's training data).")
@click.option(
    "--disc-init",
    type=click.Choice(DISC_INITS),
    default="fresh",
    show_default=True,
    help="The joint loss's discriminator: fresh (new, at the student's d: the scratch control's) or teacher (the teacher's trained discriminator, whole, at the teacher's d; needs TEACHER.train.pt and a gan teacher).",
)
@click.option("--out", type=click.Path(dir_okay=False), help="Checkpoint to write (NAME.pt, plus NAME.json and NAME.train.pt). Required unless --dry-run.")
@common_options
def student_command(teacher: str, loss: str, lam: float, data: str | None, disc_init: str, out: str | None, **kw: Any) -> None:
    """Distil a smaller generator of depth factor --d from a teacher.

    The student has the teacher's architecture family, latent size and image size; only d differs.
    Its record names the teacher (path, SHA-256, parameters) and the compression ratio.

    \b
    Example:
      gan-eval train student --teacher runs/teacher-d32.pt --d 8 --loss joint --out runs/student-d8.pt
    """
    run_and_report(config_from(kw, role="student", loss=loss, lam=lam, teacher=teacher, data=data or teacher_data(teacher), disc_init=disc_init), out, kw)


def teacher_data(teacher: str) -> str:
    from .checkpoint import read_checkpoint

    return str(read_checkpoint(teacher)["record"].get("data") or "dataset:mnist5k:train")
