"""Aguinaldo et al. (2019) redone with seeds: plan and run every training and scoring command, then
rebuild every table of docs/experiments.md from the run records.

    python -m trainers.experiments.distillation run    --out exp16 [--scale cpu|gpu] [--workers 2]
    python -m trainers.experiments.distillation tables --out exp16 [--scale cpu|gpu]

``run`` is restartable: finished jobs are kept (``OUT/.jobs/NAME.done`` holds each command and its
wall time) and unfinished sweeps resume. ``--scale gpu`` is the same experiment at the paper's
geometry (64×64 preset, paper teacher sizes, more steps) for a CUDA machine.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from .jobs import Job, run_jobs

METRICS = ("fid", "is", "kid", "pr", "laplacian")


@dataclass(frozen=True)
class Study:
    """One dataset at one geometry: a teacher per seed, its students, same-size scratch controls.

    Folders: ``OUT/NAME/sSEED/{teacher,scratch,large,students,joint-lLAMBDA}/sweep.json``. The scratch
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
    #: teacher, mse, scratch, joint-LAMBDA, large
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
    real="dataset:mnist5k:train",
)
FASHION = Study(
    "fashion",
    data="dataset:fashion-mnist:train",
    reference="dataset:fashion-mnist:test",
    teacher_d=16,
    student_ds=(4, 2),
    lambdas=(0.8,),
    extractor="fashion-cnn",
    real="dataset:fashion-mnist:train",
)
#: the paper's geometry (64×64 upsampled MNIST, latent 100) with the DCGAN optimiser, small d
MNIST64 = Study(
    "mnist64",
    data="dataset:mnist5k:train",
    reference="dataset:mnist5k:test",
    teacher_d=8,
    student_ds=(2,),
    extra_train=("--preset", "aguinaldo2019-mnist", "--loss", "gan"),
    extractor="mnist-cnn",
    extra_score=("--resize", "28x28"),
)

SCALES = {
    # 28×28 on a shared 2-core CPU, one thread per run, two runs at a time, sized to about an hour
    # of wall time from the step times measured idle, then cut to what a load of 10-12 from other
    # engineers' test suites allowed (docs/experiments.md): students and controls d = 4, 2, the λ
    # sweep at d = 4 only.
    "cpu": Scale(
        "cpu",
        seeds=(0, 1, 2),
        steps=1000,
        num=1000,
        bootstrap=50,
        studies=(MNIST, FASHION, MNIST64),
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
            ("fashion", "joint-0.8"),
            ("mnist64", "teacher"),
            ("mnist64", "mse"),
            ("mnist64", "scratch"),
            ("mnist", "large"),
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


def part_jobs(scale: Scale, study: Study, part: str, seed: int) -> list[Job]:
    """The training job of one part for one seed, then the job scoring what it trained."""
    base = f"{study.name}/s{seed}"
    common = ("--seed", seed, "--steps", scale.steps, "-q", *scale.extra_train, *study.extra_train)
    teacher_job = f"{study.name}-teacher-s{seed}"
    teacher = f"{base}/teacher/teacher-d{study.teacher_d}.pt"
    if part == "teacher":
        folder, after = "teacher", []
        argv = gan_eval("train", "sweep", "--ds", study.teacher_d, "--data", study.data, "--out", f"{base}/teacher", *common)
    elif part == "scratch":
        folder, after = "scratch", []
        argv = gan_eval("train", "sweep", "--ds", ds(study.scratch_ds or study.student_ds), "--data", study.data, "--out", f"{base}/scratch", *common)
    elif part == "large":
        if not study.large_ds:
            return []
        folder, after = "large", []
        argv = gan_eval("train", "sweep", "--ds", ds(study.large_ds), "--data", study.data, "--out", f"{base}/large", *common)
    elif part == "mse":
        folder, after = "students", [teacher_job]
        argv = gan_eval("train", "sweep", "--teacher", teacher, "--ds", ds(study.student_ds), "--student-losses", "mse", "--out", f"{base}/students", *common)
    elif part.startswith("joint-"):
        lam = float(part.removeprefix("joint-"))
        if lam not in study.lambdas:
            return []
        folder, after = f"joint-l{lam:g}", [teacher_job]
        student_ds = study.lambda_ds or study.student_ds
        argv = gan_eval(
            "train", "sweep", "--teacher", teacher, "--ds", ds(student_ds), "--student-losses", "joint", "--lambda", lam, "--out", f"{base}/{folder}", *common
        )
    else:
        raise ValueError(f"unknown part {part!r}")
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
        from .tables import write_tables

        print(write_tables(args.out, scale))


if __name__ == "__main__":
    main()
