"""The experiment runner (trainers/experiments): its job queue, its plan and the tables it builds."""

from __future__ import annotations

import fcntl
import json
import math
import re
import subprocess
import sys
import threading

import numpy as np
import pytest
import scipy.stats

from trainers.experiments import distillation, jobs, tables
from trainers.experiments.jobs import Job, run_jobs, stale, wait_for_bench_lock

#: what /work/notes/quiet.sh waits for (pgrep -f) before a benchmark runs
QUIET_PATTERN = re.compile("train sweep|sweep-score|gan-eval train|trainers.cli")


def touch(path) -> list[str]:
    return [sys.executable, "-c", f"open({str(path)!r}, 'w').close()"]


def test_a_job_starts_only_after_the_benchmark_lock_is_released(tmp_path):
    lock = tmp_path / "bench.lock"
    marker = tmp_path / "released"
    held = threading.Event()

    def benchmark():
        with open(lock, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            held.set()
            threading.Event().wait(0.3)
            marker.touch()  # the benchmark ends; only now may a job start
            fcntl.flock(handle, fcntl.LOCK_UN)

    thread = threading.Thread(target=benchmark)
    thread.start()
    held.wait()
    # the job fails (and run_jobs exits) if it runs before the marker exists
    check = [sys.executable, "-c", f"import os, sys; sys.exit(0 if os.path.exists({str(marker)!r}) else 3)"]
    lines: list[str] = []
    run_jobs(tmp_path / "out", [Job("after-benchmark", check)], workers=1, echo=lines.append, bench_lock=lock)
    thread.join()
    assert jobs.is_done(tmp_path / "out", "after-benchmark")


def test_wait_for_bench_lock_returns_at_once_when_free_and_leaves_the_lock_free(tmp_path):
    lock = tmp_path / "bench.lock"
    wait_for_bench_lock(lock)
    assert lock.is_file()
    with open(lock) as handle:  # not left held: a non-blocking exclusive lock succeeds
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_a_dead_runners_job_lock_is_taken_over_and_a_live_ones_is_not(tmp_path):
    root = tmp_path / "out"
    (root / ".jobs").mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (root / ".jobs" / "orphan.lock").mkdir()
    (root / ".jobs" / "orphan.lock" / "pid").write_text(str(dead.pid))
    (root / ".jobs" / "busy.lock").mkdir()
    (root / ".jobs" / "busy.lock" / "pid").write_text(str(__import__("os").getpid()))
    assert stale(root / ".jobs" / "orphan.lock") and not stale(root / ".jobs" / "busy.lock")
    lines: list[str] = []
    run_jobs(root, [Job("orphan", touch(tmp_path / "a")), Job("busy", touch(tmp_path / "b"))], workers=1, echo=lines.append, bench_lock=None)
    assert (tmp_path / "a").exists() and jobs.is_done(root, "orphan")
    assert not (tmp_path / "b").exists() and not jobs.is_done(root, "busy")
    assert not (root / ".jobs" / "orphan.lock").exists()
    record = json.loads((root / ".jobs" / "orphan.done").read_text())
    assert record["wall_s"] >= 0 and "-c" in record["command"]


def test_jobs_wait_for_their_dependencies_and_a_failure_stops_its_dependents(tmp_path):
    root = tmp_path / "out"
    order = tmp_path / "order.txt"
    append = lambda name: [sys.executable, "-c", f"open({str(order)!r}, 'a').write({name!r} + '\\n')"]  # noqa: E731
    plan = [
        Job("second", append("second"), after=["first"]),
        Job("first", append("first")),
        Job("broken", [sys.executable, "-c", "raise SystemExit(2)"]),
        Job("after-broken", append("after-broken"), after=["broken"]),
    ]
    with pytest.raises(SystemExit, match="broken"):
        run_jobs(root, plan, workers=2, echo=lambda line: None, bench_lock=None)
    assert order.read_text().split() == ["first", "second"]


# -- the plan -------------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", sorted(distillation.SCALES))
def test_the_plan_is_consistent(scale):
    plan = distillation.plan(distillation.SCALES[scale])
    names = [job.name for job in plan]
    assert len(names) == len(set(names))
    for job in plan:
        assert set(job.after) <= set(names), job.name
        command = " ".join(job.argv)
        if " train " in command or "sweep-score" in command:  # quiet.sh must see every training and scoring job
            assert QUIET_PATTERN.search(command), command


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_every_student_distils_its_own_seeds_teacher_and_is_scored_after_training():
    scale = distillation.SCALES["cpu"]
    plan = distillation.plan(scale)
    by_name = {job.name: job for job in plan}
    students = [job for job in plan if "--teacher" in job.argv]
    assert {option(job.argv, "--seed") for job in students} == {str(s) for s in scale.seeds}
    for job in students:
        seed = option(job.argv, "--seed")
        assert f"/s{seed}/teacher/" in option(job.argv, "--teacher")
        (teacher_job,) = job.after
        assert option(by_name[teacher_job].argv, "--out") == option(job.argv, "--teacher").rsplit("/", 1)[0]
    trained = {option(job.argv, "--out") for job in plan if "train" in job.argv}
    scored = {job.argv[job.argv.index("sweep-score") + 1].removesuffix("/sweep.json") for job in plan if "sweep-score" in job.argv}
    assert trained == scored  # every sweep is scored, nothing else is
    # priority: the MNIST MSE students come before the λ values beyond the first one
    names = [job.name for job in plan]
    assert max(i for i, n in enumerate(names) if n.startswith("mnist-mse-s")) < min(i for i, n in enumerate(names) if n.startswith("mnist-joint-0.5"))


def test_students_and_scratch_controls_get_the_same_step_budget():
    for scale in distillation.SCALES.values():
        steps = {option(job.argv, "--steps") for job in distillation.plan(scale) if "train" in job.argv}
        assert steps == {str(scale.steps)}


# -- the tables -----------------------------------------------------------------------------------


def test_t_interval_is_the_student_t_interval():
    x = [1.0, 2.0, 4.0]
    mean, low, high = tables.t_interval(x)
    half = scipy.stats.t.ppf(0.975, 2) * np.std(x, ddof=1) / math.sqrt(3)
    assert (mean, low, high) == pytest.approx((7 / 3, 7 / 3 - half, 7 / 3 + half))


@pytest.mark.parametrize(
    ("diffs", "better", "expected"),
    [
        ([-3.0, -2.0, -2.5], "lower", "holds"),
        ([3.0, 2.0, 2.5], "lower", "fails"),
        ([-3.0, 2.0, 0.5], "lower", "inside the noise"),
        ([1.0], "lower", "too few seeds"),
    ],
)
def test_verdict(diffs, better, expected):
    assert tables.verdict(diffs, better) == expected


def test_compression_limit_is_where_the_run_of_holds_from_the_largest_d_ends():
    assert tables.compression_limit({8: "holds", 4: "holds", 2: "inside the noise", 1: "holds"}) == 4
    assert tables.compression_limit({8: "inside the noise", 4: "holds"}) is None


def result(metric: str, key: str, v: float, low: float | None = None, high: float | None = None) -> dict:
    intervals = {key: {"low": low, "high": high, "level": 0.95}} if low is not None else {}
    return {"name": f"{metric}@mnist-cnn", "values": {key: v}, "intervals": intervals}


@pytest.fixture
def study_folder(tmp_path, run_cli):
    """Two seeds of a tiny study (real checkpoints, 2 steps) whose records carry chosen scores."""
    noise = tmp_path / "noise.npz"
    np.savez(noise, images=np.random.default_rng(0).integers(0, 256, (32, 28, 28), dtype=np.uint8))
    fast = ("--steps", 2, "--batch-size", 4, "-q")
    # FID: teacher 10, MSE student 20 + seed, scratch 60 + 3·seed; VoL falls with d for the students
    fids = {"teacher-d4": 10.0, "student-d2-mse": 20.0, "teacher-d2": 60.0, "student-d1-mse": 40.0, "teacher-d1": 41.0, "student-d2-joint": 30.0}
    fids_in = {("teacher-ema", "teacher-d4"): 8.0}  # the EMA teacher: 2 below its raw twin in each seed
    vols = {"student-d2-mse": 900.0, "student-d1-mse": 400.0}
    for seed in (0, 1):
        base = tmp_path / "exp" / "tiny" / f"s{seed}"
        for folder, args in [
            ("teacher", ("--ds", 4, "--data", f"npz:{noise}")),
            ("scratch", ("--ds", "2,1", "--data", f"npz:{noise}")),
            ("students", ("--teacher", base / "teacher" / "teacher-d4.pt", "--ds", "2,1", "--student-losses", "mse")),
            ("teacher-ema", ("--ds", 4, "--data", f"npz:{noise}", "--ema", 0.9)),
            (
                "joint-l0.8-tdisc",
                ("--teacher", base / "teacher" / "teacher-d4.pt", "--ds", "2", "--student-losses", "joint", "--lambda", 0.8, "--disc-init", "teacher"),
            ),
        ]:
            out = run_cli("train", "sweep", *args, "--seed", seed, "--out", base / folder, *fast)
            assert out.exit_code == 0, out.output
            manifest = json.loads((base / folder / "sweep.json").read_text())
            (base / folder / "records").mkdir()
            for entry in manifest["runs"]:
                fid = fids_in.get((folder, entry["label"]), fids[entry["label"]]) + seed * (1 if entry["role"] == "student" else 3)
                record = {
                    "results": [result("fid", "fid", fid, fid - 0.5, fid + 0.5), result("laplacian", "mean", vols.get(entry["label"], 100.0) * (1 + seed))]
                }
                (base / folder / "records" / f"{entry['label']}.json").write_text(json.dumps(record))
                entry["record"] = f"records/{entry['label']}.json"
            (base / folder / "sweep.json").write_text(json.dumps(manifest))
    return tmp_path / "exp"


def test_study_tables_pair_seeds_and_test_the_claims(study_folder):
    study = distillation.Study("tiny", data="npz:x", reference="npz:x", teacher_d=4, student_ds=(2, 1))
    runs = tables.load_runs(study_folder, "tiny")
    cells = tables.by(runs)
    assert set(cells) == {("gan", 4), ("gan", 2), ("gan", 1), ("mse", 2), ("mse", 1), ("gan-ema", 4), ("joint-0.8-tdisc", 2)}
    assert tables.paired(cells[("mse", 2)], cells[("gan", 2)], "fid", "fid") == [-40.0, -42.0]
    assert tables.bootstrap_halfwidth(cells[("mse", 2)], "fid", "fid") == pytest.approx(0.5)
    text = "\n".join(tables.study_tables(study_folder, study, latency=False))
    mean, low, high = tables.t_interval([-40.0, -42.0])
    assert (
        f"| mse student beats scratch (FID student − scratch < 0) | 2 | {tables._g(mean, 3)} | [{tables._g(low, 3)}, {tables._g(high, 3)}] | 2 | holds |"
        in text
    )
    # d = 1: differences −1 and −3, an interval that includes 0
    assert "| mse student beats scratch (FID student − scratch < 0) | 1 | -2 |" in text and "inside the noise" in text
    assert "compression limit (smallest d down to which every larger d holds): 2." in text
    assert "20.5 [14.1, 26.9] ±0.5" in text  # the d = 2 MSE cell: mean [t-interval] ±bootstrap half-width
    # VoL slope per doubling of d: seed 0 (900 − 400), seed 1 (1800 − 800)
    assert "| VoL falls with compression (mse students: slope of VoL per doubling of d > 0) | 2,1 | 750 |" in text
    assert "| MSE d=2 | 13,276 |" in text
    assert "| student d | compression | MSE | joint λ=0.8, teacher's D | scratch (DCGAN) |" in text
    ema_claim = "| the teacher's EMA beats its raw weights (FID EMA − raw < 0; same training run) | 4 | -2 | [-2, -2] | 2 | holds |"
    assert ema_claim in text


def test_the_figure_draws_each_kinds_mean_and_seed_interval_against_d(study_folder, tmp_path):
    import xml.etree.ElementTree as ET

    from trainers.experiments import figures

    study = distillation.Study("tiny", data="npz:x", reference="npz:x", teacher_d=4, student_ds=(2, 1))
    cells = tables.by(tables.load_runs(study_folder, "tiny"))
    drawn = figures.series(cells, "fid", "fid")
    assert "gan-ema" not in drawn  # the EMA twin is a claim of the tables, not a point of the d sweep
    assert [d for d, *_ in drawn["gan"]] == [1, 2, 4] and [d for d, *_ in drawn["mse"]] == [1, 2]
    assert drawn["mse"][1][1:] == pytest.approx(tables.t_interval([20.0, 21.0]))  # d = 2: seeds 0 and 1
    path = figures.write_figure(study_folder, study, tmp_path / "fig" / "tiny.svg")
    root = ET.parse(path).getroot()
    groups = {e.get("id"): e for e in root.iter() if e.get("id")}
    for gid, count in [("fid-gan-bars", 3), ("fid-mse-bars", 2), ("is-mse-bars", 0), ("laplacian-joint-0.8-tdisc-bars", 1)]:
        bars = [e for e in groups[gid].iter() if e.tag.endswith("path") and e.get("d")] if gid in groups else []
        assert len(bars) == count, gid  # IS has no values in these records: nothing drawn
    assert figures.write_figure(study_folder, distillation.Study("none", data="x", reference="x", teacher_d=4, student_ds=()), tmp_path / "x.svg") is None
