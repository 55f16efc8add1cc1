"""A tiny dependency-aware job queue for experiment sweeps: every job is one ``gan-eval`` command.

Each job writes ``OUT/.jobs/NAME.done`` (JSON: command, start, wall seconds, exit code) when it
succeeds; ``NAME.lock`` (an atomic ``mkdir``) keeps two runners from taking the same job, so a
killed runner can simply be started again (its unfinished sweeps resume), and two runners may share
one plan. The wall times in the ``.done`` files are what docs/experiments.md quotes.

Before starting each job a worker waits while another engineer's timing benchmark holds the file
lock ``/tmp/gan-eval-bench.lock`` (``/work/notes/quiet.sh`` holds it for a benchmark's whole run and
waits for running jobs whose command line matches ``gan-eval train|sweep-score``): the runner takes
the lock and releases it at once, so it never delays a benchmark, it only starts nothing during one.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


#: held by ``/work/notes/quiet.sh`` while a timing benchmark runs
BENCH_LOCK = Path("/tmp/gan-eval-bench.lock")


def wait_for_bench_lock(path: Path = BENCH_LOCK) -> float:
    """Block while someone else holds ``path`` (flock, exclusive), then release it at once; return the
    seconds waited. A missing lock file is created (empty), as ``quiet.sh`` does."""
    started = time.monotonic()
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        fcntl.flock(handle, fcntl.LOCK_UN)
    return time.monotonic() - started


@dataclass
class Job:
    name: str
    argv: list[str]
    after: list[str] = field(default_factory=list)


def _done_path(root: Path, name: str) -> Path:
    return root / ".jobs" / f"{name}.done"


def is_done(root: Path, name: str) -> bool:
    return _done_path(root, name).is_file()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale(lock: Path) -> bool:
    """A job lock left by a runner that no longer runs (its ``pid`` file names a dead process)."""
    try:
        return not _alive(int((lock / "pid").read_text()))
    except (FileNotFoundError, ValueError):
        return False


def _echo(line: str) -> None:
    print(line, flush=True)


def run_jobs(root: Path, jobs: list[Job], workers: int = 2, threads: int = 1, echo=_echo, bench_lock: Path | None = BENCH_LOCK) -> None:
    """Run ``jobs`` (each after its ``after`` jobs are done) on ``workers`` parallel processes; each
    job starts only once ``bench_lock`` is free (None: do not wait)."""
    (root / ".jobs").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    names = {job.name for job in jobs}
    failed: list[str] = []
    lock = threading.Lock()

    def take() -> Job | None | str:
        with lock:
            waiting = False
            for job in jobs:
                lock_dir = root / ".jobs" / f"{job.name}.lock"
                if lock_dir.exists() and stale(lock_dir):
                    (lock_dir / "pid").unlink()
                    lock_dir.rmdir()
                    echo(f"[stale] {job.name}: lock of a dead runner removed")
                if is_done(root, job.name) or lock_dir.exists():
                    continue
                if job.name in failed or any(dep in failed for dep in job.after):  # a failed job is not retried in this run
                    continue
                if not all(is_done(root, dep) for dep in job.after if dep in names):
                    waiting = True
                    continue
                try:
                    os.mkdir(lock_dir)
                except FileExistsError:
                    continue
                (lock_dir / "pid").write_text(str(os.getpid()))
                return job
            return "wait" if waiting else None

    def worker() -> None:
        while True:
            job = take()
            if job is None:
                return
            if job == "wait":
                time.sleep(2.0)
                continue
            if bench_lock is not None:
                waited = wait_for_bench_lock(bench_lock)
                if waited >= 1:
                    echo(f"[wait ] {job.name}: {waited:.0f} s while a benchmark held {bench_lock}")
            command = shlex.join(job.argv)
            echo(f"[start] {job.name}: {command}")
            started = time.time()
            log = root / ".jobs" / f"{job.name}.log"
            with open(log, "w") as handle:
                code = subprocess.call(job.argv, env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=root)
            wall = time.time() - started
            if code == 0:
                _done_path(root, job.name).write_text(
                    json.dumps({"name": job.name, "command": command, "started": started, "wall_s": round(wall, 1), "threads": threads}) + "\n"
                )
                echo(f"[done ] {job.name} in {wall:.0f} s")
            else:
                with lock:
                    failed.append(job.name)
                echo(f"[FAIL ] {job.name} (exit {code}), see {log}")
            (root / ".jobs" / f"{job.name}.lock" / "pid").unlink()
            os.rmdir(root / ".jobs" / f"{job.name}.lock")

    pool = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if failed:
        sys.exit(f"failed jobs: {', '.join(failed)}")


def wall_times(root: Path) -> dict[str, dict]:
    """Every finished job's ``.done`` record, by name."""
    return {p.stem: json.loads(p.read_text()) for p in sorted((root / ".jobs").glob("*.done"))}
