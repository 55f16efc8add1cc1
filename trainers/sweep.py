"""``gan-eval train sweep``: teachers over d (the paper's teacher selection, Fig. 2), or students over d
for one teacher (each with MSE, joint loss and a same-size from-scratch control). Writes a manifest.

Re-running the same sweep skips finished checkpoints and resumes unfinished ones, so an interrupted
sweep continues where it stopped.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Sequence

import click

from gan_eval.errors import UsageError

from .checkpoint import read_checkpoint, record_path
from .commands import common_options, config_from
from .manifest import entry_for, new_manifest, read_manifest, relative, upsert, write_manifest
from .training import DISC_INITS, TrainConfig, train

STUDENT_KINDS = ("mse", "joint", "scratch")


def parse_ints(text: str, what: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise UsageError(f"{what} {text!r} must be a comma-separated list of positive integers, e.g. 4,8,16")
    return values


def planned_runs(base: TrainConfig, ds: list[int], teacher: str | None, kinds: Sequence[str], scratch_loss: str) -> list[tuple[str, TrainConfig]]:
    """(checkpoint name, config) of every run in the sweep, in order."""
    runs = []
    for d in ds:
        if teacher is None:
            runs.append((f"teacher-d{d}", dataclasses.replace(base, d=d, role="teacher")))
            continue
        for kind in kinds:
            if kind == "scratch":
                runs.append((f"scratch-d{d}", dataclasses.replace(base, d=d, role="scratch", loss=scratch_loss, teacher=None, disc_init="fresh")))
            else:
                runs.append((f"student-d{d}-{kind}", dataclasses.replace(base, d=d, role="student", loss=kind, teacher=teacher)))
    return runs


def finished(checkpoint: Path, steps: int) -> bool:
    if not checkpoint.is_file() or not record_path(checkpoint).is_file():  # a kill can fall between the two
        return False
    return int(read_checkpoint(checkpoint)["record"].get("steps", 0)) >= steps


def run_sweep(
    base: TrainConfig,
    ds: list[int],
    out_dir: str | Path,
    *,
    teacher: str | None = None,
    kinds: Sequence[str] = tuple(STUDENT_KINDS),
    scratch_loss: str = "gan",
    progress: bool = True,
    echo: Callable[[str], None] = lambda line: None,
) -> Path:
    """Train every run of the sweep into ``out_dir`` and return the manifest's path (``sweep.json``)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = out_dir / "sweep.json"
    dataset = str(read_checkpoint(teacher)["record"].get("dataset")) if teacher else None
    if manifest_path.is_file():
        manifest = read_manifest(manifest_path)
    else:
        manifest = new_manifest("students" if teacher else "teachers", dataset, relative(Path(teacher), manifest_path) if teacher else None)
    for name, config in planned_runs(base, ds, teacher, kinds, scratch_loss):
        checkpoint = out_dir / f"{name}.pt"
        if finished(checkpoint, config.steps):
            record = read_checkpoint(checkpoint)["record"]
            echo(f"{checkpoint}: already trained ({record['steps']} steps), kept")
        else:
            record = train(config, checkpoint, resume=True, progress=progress)
            ratio = f", compression {record['compression_ratio']:.2f}×" if record.get("compression_ratio") else ""
            echo(f"{checkpoint}: {record['parameters']:,} parameters{ratio}, losses " + ", ".join(f"{k}={v:.4f}" for k, v in record["last_losses"].items()))
        manifest["dataset"] = manifest.get("dataset") or record.get("dataset")
        upsert(manifest, entry_for(manifest_path, checkpoint, record))
        write_manifest(manifest_path, manifest)
    return manifest_path


@click.command("sweep")
@click.option("--ds", "ds_text", default="4,8,16,32", show_default=True, help="Comma-separated depth factors d to train.")
@click.option("--teacher", type=click.Path(exists=True, dir_okay=False), help="Sweep students of this teacher instead of teachers.")
@click.option(
    "--student-losses",
    default="mse,joint,scratch",
    show_default=True,
    help="Student kinds per d: mse (eq. 3), joint (eq. 4) and scratch (same size, plain GAN from scratch: the control).",
)
@click.option(
    "--loss",
    type=click.Choice(["gan", "wgan-clip", "wgan-gp"]),
    default="gan",
    show_default=True,
    help="Adversarial loss of teachers and of the from-scratch controls.",
)
@click.option("--lambda", "lam", type=click.FloatRange(0.0, 1.0), default=0.5, show_default=True, help="λ of the joint loss.")
@click.option(
    "--disc-init",
    type=click.Choice(DISC_INITS),
    default="fresh",
    show_default=True,
    help="The joint-loss students' discriminator: fresh, or the teacher's trained one (as 'train student --disc-init'). Scratch controls always start fresh.",
)
@click.option("--data", default="dataset:mnist5k:train", show_default=True, help="Training images (any source spec); students default to their teacher's data.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder for the checkpoints and the manifest sweep.json.")
@common_options
def sweep_command(ds_text: str, teacher: str | None, student_losses: str, loss: str, lam: float, disc_init: str, data: str, out_dir: str, **kw: Any) -> None:
    """Train a sweep over d and write OUT/sweep.json listing the checkpoints and their roles.

    Without --teacher: teachers teacher-dD.pt for each d (the paper's teacher selection).
    With --teacher: for each d, student-dD-mse.pt, student-dD-joint.pt and scratch-dD.pt.
    Score them all with 'gan-eval sweep-score OUT/sweep.json --ref ...', then
    'gan-eval report OUT/sweep.json -o report.html'. --d is ignored (use --ds); re-running resumes.

    \b
    Example:
      gan-eval train sweep --ds 4,8,16,32 --steps 1500 --out runs/teachers
      gan-eval train sweep --teacher runs/teachers/teacher-d32.pt --ds 4,8,16 --out runs/students
    """
    kinds = [k.strip() for k in student_losses.split(",") if k.strip()]
    unknown = set(kinds) - set(STUDENT_KINDS)
    if unknown or not kinds:
        raise UsageError(f"--student-losses {student_losses!r}: choose from {', '.join(STUDENT_KINDS)}")
    if teacher and data == "dataset:mnist5k:train":
        data = str(read_checkpoint(teacher)["record"].get("data") or data)
    if disc_init == "teacher" and not teacher:
        raise UsageError("--disc-init teacher is for student sweeps (give --teacher)")
    base = config_from(kw, role="teacher", loss=loss, lam=lam, data=data, disc_init=disc_init)
    if kw["dry_run"]:
        raise UsageError("--dry-run describes one run: use 'gan-eval train teacher --dry-run --d D' (or 'train student')")
    if kw["resume"] or kw["overwrite"]:
        raise UsageError("sweep always resumes unfinished runs and keeps finished ones; delete a checkpoint to retrain it")
    path = run_sweep(base, parse_ints(ds_text, "--ds"), out_dir, teacher=teacher, kinds=kinds, scratch_loss=loss, progress=not kw["quiet"], echo=click.echo)
    click.echo(f"manifest written to {path}")
