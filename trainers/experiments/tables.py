"""Every table of docs/experiments.md from the experiment folder's run records (nothing re-scored).

A cell is the mean over seeds with a 95 % Student-t interval, mean ± t(0.975, n−1)·s/√n. With 3
seeds t = 4.30: the intervals are wide on purpose, they are what 3 seeds can tell. Claims are
tested on paired differences (the same seed's runs share the teacher and the latent draws).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.stats
import torch

#: (column, metric, value key) of every table
COLUMNS = (
    ("FID", "fid", "fid"),
    ("IS", "is", "mean"),
    ("KID", "kid", "mean"),
    ("precision", "pr", "precision"),
    ("recall", "pr", "recall"),
    ("VoL", "laplacian", "mean"),
)


def t_interval(samples: list[float]) -> tuple[float, float, float]:
    """(mean, low, high): 95 % Student-t interval over seeds (low = high = mean for one sample)."""
    x = np.asarray(samples, dtype=np.float64)
    mean = float(x.mean())
    if len(x) < 2:
        return mean, mean, mean
    half = float(scipy.stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return mean, mean - half, mean + half


def fmt(samples: list[float], digits: int = 3) -> str:
    if not samples:
        return "–"
    mean, low, high = t_interval(samples)
    return f"{_g(mean, digits)} [{_g(low, digits)}, {_g(high, digits)}]"


def _g(x: float, digits: int) -> str:
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def value(record: dict[str, Any], metric: str, key: str) -> float | None:
    for result in record.get("results", []):
        if result["name"].split("@")[0] == metric and key in result.get("values", {}):
            return float(result["values"][key])
    return None


#: folders whose runs are not in the tables: students of the 500-step teachers, which had not trained
#: (docs/experiments.md says why); their records stay in the experiment folder
EXCLUDED = ("students", "joint-l0.8", "joint-l0.95")


def load_runs(root: Path) -> list[dict[str, Any]]:
    """One entry per scored checkpoint: seed, folder, label, the manifest entry and the record.
    ``sS/teachers``: teachers and scratch controls of seed S; ``mS/students``: students of seed S
    (of the ``tSTEPS/`` teacher); ``tSTEPS/teachers``: the longer-trained teacher (seed 0)."""
    runs = []
    for manifest_path in sorted(root.glob("*/*/sweep.json")):
        top = manifest_path.parent.parent.name
        if top.startswith("s") and manifest_path.parent.name in EXCLUDED:
            continue
        if not top[1:].isdigit() or top[0] not in "smt":
            continue
        seed = 0 if top.startswith("t") else int(top[1:])
        manifest = json.loads(manifest_path.read_text())
        for entry in manifest["runs"]:
            if not entry.get("record"):
                continue
            record = json.loads((manifest_path.parent / entry["record"]).read_text())
            runs.append(
                {
                    "seed": seed,
                    "folder": f"{top}/{manifest_path.parent.name}",
                    "label": entry["label"],
                    "entry": entry,
                    "record": record,
                    "checkpoint": manifest_path.parent / entry["checkpoint"],
                }
            )
    return runs


def kind(run: dict[str, Any]) -> str:
    """teacher / mse / joint-λ (the scratch controls are the teachers of the same d and seed)."""
    entry = run["entry"]
    if run["folder"].startswith("t"):
        return f"teacher-{entry['steps']}"
    if entry["role"] in ("teacher", "scratch"):
        return "gan"
    return "mse" if entry["loss"] == "mse" else f"joint-{entry['lambda']:g}"


def by(runs: list[dict[str, Any]]) -> dict[tuple[str, int], dict[int, dict[str, Any]]]:
    """{(kind, d): {seed: run}}."""
    table: dict[tuple[str, int], dict[int, dict[str, Any]]] = {}
    for run in runs:
        table.setdefault((kind(run), int(run["entry"]["d"])), {})[run["seed"]] = run
    return table


def samples(cell: dict[int, dict[str, Any]], metric: str, key: str) -> list[float]:
    return [v for v in (value(cell[s]["record"], metric, key) for s in sorted(cell)) if v is not None]


def paired(a: dict[int, dict[str, Any]], b: dict[int, dict[str, Any]], metric: str, key: str) -> list[float]:
    """Per-seed differences a − b over the seeds both have (``b`` with one seed, e.g. the one
    teacher every student seed distils from, is compared with every seed of ``a``)."""
    out = []
    for seed in sorted(set(a) & set(b)) if len(b) > 1 else sorted(a):
        other = b[seed] if len(b) > 1 else next(iter(b.values()))
        va, vb = value(a[seed]["record"], metric, key), value(other["record"], metric, key)
        if va is not None and vb is not None:
            out.append(va - vb)
    return out


def verdict(diffs: list[float], better: str) -> str:
    """'holds' when the interval of a − b lies wholly on the better side of 0, 'fails' when wholly on
    the other, else 'inside the noise'."""
    if len(diffs) < 2:
        return "too few seeds"
    _, low, high = t_interval(diffs)
    if (better == "lower" and high < 0) or (better == "higher" and low > 0):
        return "holds"
    if (better == "lower" and low > 0) or (better == "higher" and high < 0):
        return "fails"
    return "inside the noise"


@torch.inference_mode()
def latency_per_image(checkpoint: Path, repeats: int = 20, batch: int = 64) -> float:
    """Fastest of ``repeats`` batch-64 forward passes on one CPU thread, per image (the minimum is
    the least disturbed by other jobs on a shared machine)."""
    from trainers.checkpoint import load_generator

    generator, record = load_generator(checkpoint)
    z = torch.randn(batch, int(record["architecture"]["latent"]), generator=torch.Generator().manual_seed(0))
    generator(z)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        generator(z)
        times.append(time.perf_counter() - start)
    return float(np.min(times)) / batch


def write_tables(root: Path, scale: Any) -> str:
    from trainers.dry_run import measure
    from trainers.models import Architecture

    torch.set_num_threads(1)
    runs = load_runs(Path(root))
    cells = by(runs)
    teacher_d = scale.teacher_d
    out: list[str] = []
    seeds = sorted({r["seed"] for r in runs})
    out.append(f"Seeds: {', '.join(map(str, seeds))}; cells: mean [95 % t-interval over seeds].\n")

    # 1. teacher selection
    out.append("### Teacher selection: DCGAN over d\n")
    out.append("| d | steps | generator parameters | seeds | FID ↓ | IS ↑ | KID ↓ | VoL |")
    out.append("|---|---|---|---|---|---|---|---|")
    for k, d in sorted(((k, d) for k, d in cells if k == "gan" or k.startswith("teacher-")), key=lambda kd: (kd[1], kd[0])):
        cell = cells[(k, d)]
        first = next(iter(cell.values()))["entry"]
        params = first["parameters"]
        out.append(
            f"| {d} | {first['steps']} | {params:,} | {len(cell)} | {fmt(samples(cell, 'fid', 'fid'))} | {fmt(samples(cell, 'is', 'mean'))} | "
            f"{fmt(samples(cell, 'kid', 'mean'))} | {fmt(samples(cell, 'laplacian', 'mean'), 4)} |"
        )

    # 2. students against scratch
    student_ds = sorted({d for k, d in cells if k == "mse"}, reverse=True)
    joints = sorted({k for k, _ in cells if k.startswith("joint-")})
    out.append(f"\n### Students of the d = {teacher_d} teacher against same-size scratch controls (FID ↓ / IS ↑ / VoL)\n")
    header = ["student d", "compression", "MSE", *[f"joint λ={k.split('-')[1]}" for k in joints], "scratch (GAN)"]
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "---|" * len(header))
    for d in student_ds:
        mse = cells.get(("mse", d), {})
        ratio = next(iter(mse.values()))["entry"]["compression_ratio"] if mse else None
        row = [str(d), f"{ratio:.2f}×" if ratio else "–"]
        for k in ["mse", *joints, "gan"]:
            cell = cells.get((k, d), {})
            row.append(" / ".join(fmt(samples(cell, m, key)) for m, key in (("fid", "fid"), ("is", "mean"), ("laplacian", "mean"))) if cell else "–")
        out.append("| " + " | ".join(row) + " |")

    # 3. claims as interval tests
    out.append("\n### The claims as tests of intervals (paired by seed; 95 % t-interval of the difference)\n")
    out.append("| claim | d | difference | interval | verdict |")
    out.append("|---|---|---|---|---|")
    beats: dict[int, str] = {}
    for d in student_ds:
        for k in ["mse", *joints]:
            if (k, d) not in cells or ("gan", d) not in cells:
                continue
            diffs = paired(cells[(k, d)], cells[("gan", d)], "fid", "fid")
            mean, low, high = t_interval(diffs) if diffs else (float("nan"),) * 3
            v = verdict(diffs, "lower")
            out.append(f"| {k} student beats scratch (FID) | {d} | {mean:.3g} | [{low:.3g}, {high:.3g}] | {v} |")
            if k == "mse":
                beats[d] = v
    long_teacher = next((k for k, d in cells if k.startswith("teacher-") and d == teacher_d), None)
    teacher_cell = cells.get((long_teacher, teacher_d), {}) if long_teacher else cells.get(("gan", teacher_d), {})
    for d in student_ds:
        if ("mse", d) in cells and teacher_cell:
            diffs = paired(cells[("mse", d)], teacher_cell, "fid", "fid")
            mean, low, high = t_interval(diffs)
            out.append(
                f"| MSE student as good as the teacher (FID difference, 0 = equal) | {d} | {mean:.3g} | [{low:.3g}, {high:.3g}] | "
                f"{'equal within the noise' if low <= 0 <= high else 'worse' if low > 0 else 'better'} |"
            )
    slopes = []
    for seed in seeds:
        pts = [(math.log2(d), value(cells[("mse", d)][seed]["record"], "laplacian", "mean")) for d in student_ds if seed in cells.get(("mse", d), {})]
        pts = [(x, y) for x, y in pts if y is not None]
        if len(pts) >= 2:
            slopes.append(float(np.polyfit([p[0] for p in pts], [p[1] for p in pts], 1)[0]))
    if slopes:
        mean, low, high = t_interval(slopes)
        out.append(
            f"| VoL falls with compression (MSE students: slope of VoL per doubling of d, > 0) | {','.join(map(str, student_ds))} | "
            f"{mean:.4g} | [{low:.4g}, {high:.4g}] | {verdict(slopes, 'higher')} |"
        )
    holds = [d for d, v in beats.items() if v == "holds"]
    out.append(
        f"\nMSE student beats scratch by its interval at d = {', '.join(map(str, holds)) or 'none'}"
        f"; not shown at d = {', '.join(str(d) for d, v in beats.items() if v != 'holds') or 'none'} "
        f"(d without a scratch control: {', '.join(str(d) for d in student_ds if d not in beats) or 'none'})."
    )

    # 4. compression table
    out.append("\n### Compression table (seed-0 checkpoints timed; scores over seeds)\n")
    out.append("| model | parameters | MACs / image | latency / image (1 thread) | × teacher | " + " | ".join(c[0] for c in COLUMNS) + " |")
    out.append("|" + "---|" * (5 + len(COLUMNS)))
    rows = (
        [(f"teacher ({long_teacher or 'gan'})", (long_teacher or "gan", teacher_d))]
        + [(f"MSE d={d}", ("mse", d)) for d in student_ds]
        + [(f"scratch d={d}", ("gan", d)) for d in student_ds if ("gan", d) in cells]
    )
    base = None
    for name, key in rows:
        cell = cells.get(key)
        if not cell:
            continue
        first = cell[min(cell)]
        arch = (
            Architecture(**first["record"]["inputs"]["generated"].get("architecture", {})) if "architecture" in first["record"]["inputs"]["generated"] else None
        )
        if arch is None:
            from trainers.checkpoint import read_checkpoint

            arch = Architecture(**read_checkpoint(first["checkpoint"])["record"]["architecture"])
        m = measure("generator", arch)
        latency = latency_per_image(first["checkpoint"])
        base = base or latency
        out.append(
            f"| {name} | {m['parameters']:,} | {m['macs']:,} | {latency * 1e6:.0f} µs | {latency / base:.2f} | "
            + " | ".join(fmt(samples(cell, metric, key2)) for _, metric, key2 in COLUMNS)
            + " |"
        )

    # 5. wall times
    from .jobs import wall_times

    times = wall_times(Path(root))
    if times:
        out.append("\n### Wall time of every job here (2 jobs in parallel, 1 thread each)\n")
        out.append("| job | wall time | command |")
        out.append("|---|---|---|")
        for name, done in times.items():
            command = done["command"].split(" -m ", 1)[-1]
            out.append(f"| {name} | {done['wall_s'] / 60:.1f} min | `gan-eval {command.removeprefix('gan_eval ')}` |")
        out.append(f"\nTotal: {sum(d['wall_s'] for d in times.values()) / 60:.0f} job-minutes.")
    return "\n".join(out)
