"""Aguinaldo et al. (2019) redone with seeds: plan and run every training and scoring command, then
rebuild every table of docs/experiments.md from the run records.

    python -m trainers.experiments.distillation run    --out exp15 [--scale cpu|gpu] [--workers 2]
    python -m trainers.experiments.distillation tables --out exp15 [--scale cpu|gpu]

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
class Scale:
    """Everything that sizes the experiment."""

    name: str
    seeds: tuple[int, ...]
    teacher_ds: tuple[int, ...]
    teacher_d: int
    student_ds: tuple[int, ...]
    lambdas: tuple[float, ...]
    #: student d at which the extra λ values run (all student d when empty)
    lambda_ds: tuple[int, ...]
    #: seeds whose students include the joint loss (all seeds when empty; MSE students run for every seed)
    joint_seeds: tuple[int, ...]
    steps: int
    num: int
    data: str
    reference: str
    extra_train: tuple[str, ...] = ()
    extra_score: tuple[str, ...] = ()
    #: when set: every student distils from the seed-0 teacher continued to this many steps (t1000/),
    #: students in m{seed}/, and the per-seed students/joint runs are not planned
    teacher_steps: int | None = None


SCALES = {
    # 28×28 MNIST-5k on a shared 2-core CPU: one thread per run, two runs at a time, cut to what ran
    # in about 40 minutes under the load measured there (docs/experiments.md): 500 steps, scratch
    # controls and MSE students for 3 seeds, the joint loss for seed 0, λ swept at d = 4.
    "cpu": Scale(
        "cpu",
        seeds=(0, 1, 2),
        teacher_ds=(2, 4, 8, 16),
        teacher_d=16,
        student_ds=(8, 4, 2, 1),
        lambdas=(0.5, 0.8, 0.95),
        lambda_ds=(4,),
        joint_seeds=(0,),
        steps=500,
        teacher_steps=1000,
        num=1000,
        data="dataset:mnist5k:train",
        reference="dataset:mnist5k:test",
    ),
    # The paper's geometry: 64×64 (upsampled MNIST), latent 100, teacher d=256, students down to d=1.
    "gpu": Scale(
        "gpu",
        seeds=(0, 1, 2),
        teacher_ds=(16, 32, 64, 128, 256),
        teacher_d=256,
        student_ds=(128, 64, 32, 16, 8, 4, 2, 1),
        lambdas=(0.5, 0.8, 0.95),
        lambda_ds=(),
        joint_seeds=(),
        steps=20000,
        num=10000,
        data="dataset:mnist5k:train",
        reference="dataset:mnist5k:test",
        extra_train=("--preset", "aguinaldo2019-mnist", "--loss", "wgan-clip", "--ema", "0.999", "--device", "cuda", "--checkpoint-every", "2000"),
        extra_score=("--device", "cuda", "--resize", "28x28"),
    ),
}


def gan_eval(*args: object) -> list[str]:
    return [sys.executable, "-m", "gan_eval", *map(str, args)]


def plan(scale: Scale) -> list[Job]:
    """Every job in priority order (a runner cut short has done the most important ones)."""
    jobs: list[Job] = []
    common = ("--steps", scale.steps, "-q", *scale.extra_train)
    score = ("--ref", scale.reference, "--num", scale.num, *[a for m in METRICS for a in ("-m", m)], "-q", *scale.extra_score)
    if scale.teacher_steps:
        jobs += fixed_teacher_lane(scale, common, score)
    others = tuple(d for d in scale.teacher_ds if d != scale.teacher_d and d <= scale.teacher_d)
    larger = tuple(d for d in scale.teacher_ds if d > scale.teacher_d)
    for seed in scale.seeds:
        jobs.append(
            Job(
                f"teacher-d{scale.teacher_d}-s{seed}",
                gan_eval("train", "sweep", "--ds", scale.teacher_d, "--data", scale.data, "--seed", seed, "--out", f"s{seed}/teachers", *common),
            )
        )
    joint_seeds = scale.joint_seeds or scale.seeds
    for seed in scale.seeds:
        teacher = f"s{seed}/teachers/teacher-d{scale.teacher_d}.pt"
        losses = "mse,joint" if seed in joint_seeds else "mse"
        jobs.append(
            Job(
                f"students-s{seed}" if seed in joint_seeds else f"mse-s{seed}",
                gan_eval(
                    "train",
                    "sweep",
                    "--teacher",
                    teacher,
                    "--ds",
                    ",".join(map(str, scale.student_ds)),
                    "--student-losses",
                    losses,
                    "--lambda",
                    scale.lambdas[0],
                    "--seed",
                    seed,
                    "--out",
                    f"s{seed}/students",
                    *common,
                ),
                after=[f"teacher-d{scale.teacher_d}-s{seed}"],
            )
        )
    for seed in scale.seeds:
        jobs.append(
            Job(
                f"teachers-s{seed}",
                gan_eval("train", "sweep", "--ds", ",".join(map(str, others)), "--data", scale.data, "--seed", seed, "--out", f"s{seed}/teachers", *common),
                after=[f"teacher-d{scale.teacher_d}-s{seed}"],
            )
        )
    for seed in joint_seeds:
        for lam in scale.lambdas[1:]:
            jobs.append(
                Job(
                    f"joint-l{lam}-s{seed}",
                    gan_eval(
                        "train",
                        "sweep",
                        "--teacher",
                        f"s{seed}/teachers/teacher-d{scale.teacher_d}.pt",
                        "--ds",
                        ",".join(map(str, scale.lambda_ds or scale.student_ds)),
                        "--student-losses",
                        "joint",
                        "--lambda",
                        lam,
                        "--seed",
                        seed,
                        "--out",
                        f"s{seed}/joint-l{lam}",
                        *common,
                    ),
                    after=[f"teacher-d{scale.teacher_d}-s{seed}"],
                )
            )
    for seed in scale.seeds:
        if larger:
            jobs.append(
                Job(
                    f"teachers-large-s{seed}",
                    gan_eval(
                        "train", "sweep", "--ds", ",".join(map(str, larger)), "--data", scale.data, "--seed", seed, "--out", f"s{seed}/teachers-large", *common
                    ),
                )
            )
    jobs.append(Job("score-real", gan_eval("score", scale.data, "--out", "real.json", *score)))
    for seed in scale.seeds:
        students = f"students-s{seed}" if seed in joint_seeds else f"mse-s{seed}"
        for folder, after in [("teachers", f"teachers-s{seed}"), ("students", students), ("teachers-large", f"teachers-large-s{seed}")] + [
            (f"joint-l{lam}", f"joint-l{lam}-s{seed}") for lam in scale.lambdas[1:] if seed in joint_seeds
        ]:
            jobs.append(Job(f"score-{folder}-s{seed}", gan_eval("sweep-score", f"s{seed}/{folder}/sweep.json", *score), after=[after]))
    return scores_first(jobs)


def fixed_teacher_lane(scale: Scale, common: tuple, score: tuple) -> list[Job]:
    """The seed-0 teacher continued from its ``steps`` checkpoint to ``teacher_steps`` (bit-identical to
    an uninterrupted run of that length), and MSE students of it for every seed."""
    d, steps = scale.teacher_d, scale.teacher_steps
    teacher = f"t{steps}/teachers/teacher-d{d}.pt"
    copy = f"mkdir -p t{steps}/teachers && cp -n s0/teachers/teacher-d{d}.pt s0/teachers/teacher-d{d}.json s0/teachers/teacher-d{d}.train.pt t{steps}/teachers/"
    train = " ".join(
        gan_eval(
            "train", "sweep", "--ds", d, "--data", scale.data, "--seed", 0, "--out", f"t{steps}/teachers", *[a if a != scale.steps else steps for a in common]
        )
    )
    jobs = [
        Job(f"teacher-d{d}-{steps}-s0", ["bash", "-c", f"{copy} && {train}"], after=[f"teacher-d{d}-s0"]),
        Job(f"score-t{steps}", gan_eval("sweep-score", f"t{steps}/teachers/sweep.json", *score), after=[f"teacher-d{d}-{steps}-s0"]),
    ]
    for seed in scale.seeds:
        jobs.append(
            Job(
                f"mse-t{steps}-s{seed}",
                gan_eval(
                    "train",
                    "sweep",
                    "--teacher",
                    teacher,
                    "--ds",
                    ",".join(map(str, scale.student_ds)),
                    "--student-losses",
                    "mse",
                    "--seed",
                    seed,
                    "--out",
                    f"m{seed}/students",
                    *common,
                ),
                after=[f"teacher-d{d}-{steps}-s0"],
            )
        )
        jobs.append(Job(f"score-m{seed}", gan_eval("sweep-score", f"m{seed}/students/sweep.json", *score), after=[f"mse-t{steps}-s{seed}"]))
    return jobs


def scores_first(jobs: list[Job]) -> list[Job]:
    """Each scoring job right after the training job it waits for: records appear as runs finish."""
    training = [job for job in jobs if not job.after or not job.name.startswith("score-")]
    ordered: list[Job] = []
    for job in training:
        ordered.append(job)
        ordered += [s for s in jobs if s.name.startswith("score-") and s.after == [job.name]]
    return ordered


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
