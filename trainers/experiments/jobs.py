"""A tiny dependency-aware job queue for experiment sweeps: every job is one ``gan-eval`` command.

Each job writes ``OUT/.jobs/NAME.done`` (JSON: command, start, wall seconds, exit code) when it
succeeds; ``NAME.lock`` (an atomic ``mkdir``) keeps two runners from taking the same job, so a
killed runner can simply be started again (its unfinished sweeps resume), and two runners may share
one plan. The wall times in the ``.done`` files are what docs/experiments.md quotes.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Job:
    name: str
    argv: list[str]
    after: list[str] = field(default_factory=list)


def _done_path(root: Path, name: str) -> Path:
    return root / ".jobs" / f"{name}.done"


def is_done(root: Path, name: str) -> bool:
    return _done_path(root, name).is_file()


def run_jobs(root: Path, jobs: list[Job], workers: int = 2, threads: int = 1, echo=print) -> None:
    """Run ``jobs`` (each after its ``after`` jobs are done) on ``workers`` parallel processes."""
    (root / ".jobs").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    names = {job.name for job in jobs}
    failed: list[str] = []
    lock = threading.Lock()

    def take() -> Job | None | str:
        with lock:
            waiting = False
            for job in jobs:
                if is_done(root, job.name) or (root / ".jobs" / f"{job.name}.lock").exists():
                    continue
                if any(dep in failed for dep in job.after):
                    continue
                if not all(is_done(root, dep) for dep in job.after if dep in names):
                    waiting = True
                    continue
                try:
                    os.mkdir(root / ".jobs" / f"{job.name}.lock")
                except FileExistsError:
                    continue
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
