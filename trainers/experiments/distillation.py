"""Aguinaldo et al. (2019) redone with seeds: plan and run every training and scoring command, then
rebuild every table of docs/experiments.md from the run records.

    python -m trainers.experiments.distillation run    --out exp16 [--scale cpu|gpu] [--workers 2]
    python -m trainers.experiments.distillation tables --out exp16 [--scale cpu|gpu] [--figures DIR]

``run`` is restartable: finished jobs are kept (``OUT/.jobs/NAME.done`` holds each command and its
wall time) and unfinished sweeps resume. ``--scale gpu`` is the same experiment at the paper's
geometry (64×64 preset, paper teacher sizes, more steps) for a CUDA machine.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from .jobs import Job, run_jobs

METRICS = ("fid", "is", "kid", "pr", "laplacian")


@dataclass(frozen=True)
class Study:
    """One dataset at one geometry: a teacher per seed, its students, same-size scratch controls.

    Folders: ``OUT/NAME/sSEED/FOLDER/sweep.json``, one per part (:data:`PARTS`). The scratch
    controls are DCGAN teachers of the student sizes (the same run a teacher of that d is), so they
    are also the small end of the teacher-selection sweep; ``large`` holds teachers above ``teacher_d``.
    """

    name: str
    data: str
    reference: str
    teacher_d: int
    student_ds: tuple[int, ...]
    #: λ of the joint-loss students (each a job per seed and λ, over ``lambda_ds``, or every student d
    #: when empty); () = MSE only
    lambdas: tuple[float, ...] = ()
    lambda_ds: tuple[int, ...] = ()
    #: the scratch controls' sizes in training order (default: ``student_ds``)
    scratch_ds: tuple[int, ...] = ()
    #: extra teacher-selection sizes above teacher_d
    large_ds: tuple[int, ...] = ()
    #: the wider sweep's further student and control sizes (parts mse-wide, scratch-wide)
    wide_ds: tuple[int, ...] = ()
    #: λ of joint students whose discriminator starts as the teacher's (part tdisc-LAMBDA, over lambda_ds)
    tdisc_lambdas: tuple[float, ...] = ()
    #: EMA decay of a second teacher per seed (part ema; its raw weights train exactly as the
    #: teacher's, so the pair measures what averaging alone does); None: no such part
    ema: float | None = None
    extractor: str = "auto"
    extra_train: tuple[str, ...] = ()
    extra_score: tuple[str, ...] = ()
    #: spec of the real-image baseline scored like a generator (None: none)
    real: str | None = None


@dataclass(frozen=True)
class Scale:
    """Everything that sizes the experiment: the studies and the priority of their parts."""

    name: str
    seeds: tuple[int, ...]
    steps: int
    num: int
    studies: tuple[Study, ...]
    #: (study, part) in the order they are planned, a runner cut short has done the first ones; parts:
    #: see :data:`PARTS`
    priority: tuple[tuple[str, str], ...]
    extra_train: tuple[str, ...] = ()
    #: bootstrap resamples of every score's intervals (docs/intervals.md: B = 50 moves an endpoint by
    #: 5–15 % of the interval's width between seeds; 200, the default, by 5–8 %)
    bootstrap: int = 200


MNIST = Study(
    "mnist",
    data="dataset:mnist5k:train",
    reference="dataset:mnist5k:test",
    teacher_d=16,
    student_ds=(4, 2),
    lambdas=(0.8, 0.5, 0.95),
    lambda_ds=(4,),
    large_ds=(32,),
    wide_ds=(8, 1),
    tdisc_lambdas=(0.8,),
    ema=0.99,
    real="dataset:mnist5k:train",
)
FASHION = Study(
    "fashion",
    data="dataset:fashion-mnist:train",
    reference="dataset:fashion-mnist:test",
    teacher_d=16,
    student_ds=(4, 2),
    lambdas=(0.8, 0.5, 0.95),
    lambda_ds=(4,),
    large_ds=(32,),
    wide_ds=(8, 1),
    extractor="fashion-cnn",
    real="dataset:fashion-mnist:train",
)
#: the paper's geometry (64×64 upsampled images, latent 100) with the DCGAN optimiser; teacher d = 8,
#: the largest whose 3 seeds fit beside the 28×28 sweeps on this machine (0.24 s a step idle; d = 16
#: takes 0.54 s); scored at 28×28 by the domain classifier, as the 28×28 studies are
MNIST64 = Study(
    "mnist64",
    data="dataset:mnist5k:train",
    reference="dataset:mnist5k:test",
    teacher_d=8,
    student_ds=(4, 2, 1),
    extra_train=("--preset", "aguinaldo2019-mnist", "--loss", "gan"),
    extractor="mnist-cnn",
    extra_score=("--resize", "28x28"),
)
#: Fashion-MNIST at the same geometry, scored as the 28×28 Fashion study is
FASHION64 = replace(MNIST64, name="fashion64", data=FASHION.data, reference=FASHION.reference, extractor=FASHION.extractor)

SCALES = {
    # On a shared 2-core CPU, one thread per run, two runs at a time: 28×28 sweeps on both datasets
    # and the 64×64 headline at teacher d = 8, ordered so that a runner cut short has the headline
    # comparisons first; re-ordered at 05:00 on 2026-12-02 when the load (4–6) made every job 3–6×
    # slower than idle: students down to d = 1 at 28×28 before the rest of the λ sweep on Fashion,
    # Fashion at 64×64 last (docs/experiments.md).
    "cpu": Scale(
        "cpu",
        seeds=(0, 1, 2),
        steps=1000,
        num=1000,
        bootstrap=50,
        studies=(MNIST, FASHION, MNIST64, FASHION64),
        priority=(
            ("mnist", "teacher"),
            ("mnist", "mse"),
            ("mnist", "scratch"),
            ("mnist", "joint-0.8"),
            ("mnist", "joint-0.5"),
            ("mnist", "joint-0.95"),
            ("fashion", "teacher"),
            ("fashion", "mse"),
            ("fashion", "scratch"),
            ("mnist64", "teacher"),
            ("mnist64", "mse"),
            ("mnist64", "scratch"),
            ("fashion", "joint-0.8"),
            ("mnist", "mse-wide"),
            ("mnist", "scratch-wide"),
            ("fashion", "joint-0.5"),
            ("fashion", "joint-0.95"),
            ("mnist", "ema"),
            ("mnist", "tdisc-0.8"),
            ("mnist", "large"),
            ("fashion", "mse-wide"),
            ("fashion", "scratch-wide"),
            ("fashion", "large"),
            ("fashion64", "teacher"),
            ("fashion64", "mse"),
            ("fashion64", "scratch"),
        ),
    ),
    # The paper's geometry: 64×64 (upsampled MNIST), latent 100, W-DCGAN, teacher d=256, students to d=1.
    "gpu": Scale(
        "gpu",
        seeds=(0, 1, 2),
        steps=20000,
        num=10000,
        studies=(
            Study(
                "mnist64",
                data="dataset:mnist5k:train",
                reference="dataset:mnist5k:test",
                teacher_d=256,
                student_ds=(128, 64, 32, 16, 8, 4, 2, 1),
                lambdas=(0.5, 0.8, 0.95),
                extra_train=("--preset", "aguinaldo2019-mnist", "--loss", "wgan-clip", "--ema", "0.999", "--device", "cuda", "--checkpoint-every", "2000"),
                extra_score=("--device", "cuda", "--resize", "28x28"),
                real="dataset:mnist5k:train",
            ),
        ),
        priority=(("mnist64", "teacher"), ("mnist64", "mse"), ("mnist64", "scratch"), *[("mnist64", f"joint-{lam}") for lam in (0.5, 0.8, 0.95)]),
    ),
}


def gan_eval(*args: object) -> list[str]:
    return [sys.executable, "-m", "gan_eval", *map(str, args)]


def ds(values: tuple[int, ...]) -> str:
    return ",".join(map(str, values))


#: part → what it trains (LAMBDA-parts are written joint-0.8, tdisc-0.8)
PARTS = {
    "teacher": "teacher: DCGAN at teacher_d",
    "large": "teacher-selection teachers above teacher_d (large_ds)",
    "scratch": "same-size DCGAN controls (scratch_ds or student_ds)",
    "scratch-wide": "more controls (wide_ds)",
    "mse": "MSE students (student_ds)",
    "mse-wide": "more MSE students (wide_ds)",
    "joint-LAMBDA": "joint-loss students, fresh discriminator (lambda_ds or student_ds)",
    "tdisc-LAMBDA": "joint-loss students whose discriminator starts as the teacher's (lambda_ds or student_ds)",
    "ema": "a second teacher with EMA (decay ``ema``)",
}


def part_jobs(scale: Scale, study: Study, part: str, seed: int) -> list[Job]:
    """The training job of one part for one seed, then the job scoring what it trained (none when
    the study does not have that part)."""
    base = f"{study.name}/s{seed}"
    common = ("--seed", seed, "--steps", scale.steps, "-q", *scale.extra_train, *study.extra_train)
    teacher_job = f"{study.name}-teacher-s{seed}"
    teacher = f"{base}/teacher/teacher-d{study.teacher_d}.pt"

    def teachers(folder: str, values: tuple[int, ...], *extra: object) -> tuple[str, list[str], list[str]] | None:
        if not values:
            return None
        return folder, [], gan_eval("train", "sweep", "--ds", ds(values), "--data", study.data, "--out", f"{base}/{folder}", *extra, *common)

    def students(folder: str, values: tuple[int, ...], *extra: object) -> tuple[str, list[str], list[str]] | None:
        if not values:
            return None
        return folder, [teacher_job], gan_eval("train", "sweep", "--teacher", teacher, "--ds", ds(values), *extra, "--out", f"{base}/{folder}", *common)

    if part == "teacher":
        planned = teachers("teacher", (study.teacher_d,))
    elif part == "ema":
        planned = teachers("teacher-ema", (study.teacher_d,), "--ema", study.ema) if study.ema is not None else None
    elif part == "large":
        planned = teachers("large", study.large_ds)
    elif part == "scratch":
        planned = teachers("scratch", study.scratch_ds or study.student_ds)
    elif part == "scratch-wide":
        planned = teachers("scratch-wide", study.wide_ds)
    elif part == "mse":
        planned = students("students", study.student_ds, "--student-losses", "mse")
    elif part == "mse-wide":
        planned = students("students-wide", study.wide_ds, "--student-losses", "mse")
    elif part.startswith("joint-"):
        lam = float(part.removeprefix("joint-"))
        joint = ("--student-losses", "joint", "--lambda", lam)
        planned = students(f"joint-l{lam:g}", study.lambda_ds or study.student_ds, *joint) if lam in study.lambdas else None
    elif part.startswith("tdisc-"):
        lam = float(part.removeprefix("tdisc-"))
        joint = ("--student-losses", "joint", "--lambda", lam, "--disc-init", "teacher")
        planned = students(f"joint-l{lam:g}-tdisc", study.lambda_ds or study.student_ds, *joint) if lam in study.tdisc_lambdas else None
    else:
        raise ValueError(f"unknown part {part!r} (parts: {', '.join(PARTS)})")
    if planned is None:
        return []
    folder, after, argv = planned
    name = f"{study.name}-{part}-s{seed}"
    return [
        Job(name, argv, after=after),
        Job(f"score-{study.name}-{folder}-s{seed}", gan_eval("sweep-score", f"{base}/{folder}/sweep.json", *score_args(scale, study)), after=[name]),
    ]


def score_args(scale: Scale, study: Study) -> tuple:
    return (
        "--ref",
        study.reference,
        "--num",
        scale.num,
        "--extractor",
        study.extractor,
        *[a for m in METRICS for a in ("-m", m)],
        "--bootstrap",
        scale.bootstrap,
        "-q",
        *study.extra_score,
    )


def plan(scale: Scale) -> list[Job]:
    """Every job in priority order (a runner cut short has done the most important ones): for each
    (study, part) of ``scale.priority``, its training job per seed, each followed by its scoring job."""
    studies = {study.name: study for study in scale.studies}
    jobs: list[Job] = []
    for name, part in scale.priority:
        for seed in scale.seeds:
            jobs += part_jobs(scale, studies[name], part, seed)
    for study in scale.studies:  # the real-image baselines last: no claim rests on them
        if study.real:
            jobs.append(
                Job(
                    f"score-{study.name}-real",
                    gan_eval("score", study.real, "--limit", scale.num, "--out", f"{study.name}/real.json", *score_args(scale, study)),
                )
            )
    names = [job.name for job in jobs]
    if len(set(names)) != len(names):
        raise ValueError("two jobs of the plan share a name")
    return jobs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["run", "plan", "tables"])
    parser.add_argument("--out", type=Path, required=True, help="Experiment folder (checkpoints, records, job logs).")
    parser.add_argument("--scale", choices=sorted(SCALES), default="cpu")
    parser.add_argument("--workers", type=int, default=2, help="Runs in parallel.")
    parser.add_argument("--threads", type=int, default=1, help="Threads per run (OMP_NUM_THREADS).")
    parser.add_argument("--only", help="Comma-separated job name prefixes to run (default: all).")
    parser.add_argument("--figures", type=Path, help="tables: folder for the figures, STUDY.svg (default: OUT/figures).")
    args = parser.parse_args(argv)
    scale = SCALES[args.scale]
    jobs = plan(scale)
    if args.only:
        prefixes = tuple(args.only.split(","))
        jobs = [job for job in jobs if job.name.startswith(prefixes)]
    if args.action == "plan":
        import shlex

        for job in jobs:
            print(f"{job.name}: {shlex.join(job.argv)}")
    elif args.action == "run":
        args.out.mkdir(parents=True, exist_ok=True)
        run_jobs(args.out.resolve(), jobs, workers=args.workers, threads=args.threads)
    else:
        from .figures import write_figure
        from .tables import write_tables

        print(write_tables(args.out, scale))
        for study in scale.studies:
            figure = write_figure(args.out, study, (args.figures or args.out / "figures") / f"{study.name}.svg")
            if figure:
                print(f"figure: {figure}", file=sys.stderr)


if __name__ == "__main__":
    main()
