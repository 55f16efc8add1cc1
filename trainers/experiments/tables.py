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
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) < 1e-6:
        return "0"
    return f"{x:.{digits}g}"


def value(record: dict[str, Any], metric: str, key: str) -> float | None:
    for result in record.get("results", []):
        if result["name"].split("@")[0] == metric and key in result.get("values", {}):
            return float(result["values"][key])
    return None


def interval(record: dict[str, Any], metric: str, key: str) -> tuple[float, float] | None:
    """The record's bootstrap interval (low, high) of ``metric``'s ``key``, if the scorer gave one."""
    for result in record.get("results", []):
        if result["name"].split("@")[0] == metric:
            found = (result.get("intervals") or {}).get(key)
            if found and found.get("low") is not None and found.get("high") is not None:
                return float(found["low"]), float(found["high"])
    return None


def load_runs(root: Path, study: str) -> list[dict[str, Any]]:
    """One entry per scored checkpoint of ``OUT/STUDY/sSEED/FOLDER/sweep.json``: seed, folder, the
    manifest entry, the record and the checkpoint's path."""
    runs = []
    for manifest_path in sorted((Path(root) / study).glob("s*/*/sweep.json")):
        top = manifest_path.parent.parent.name
        if not top[1:].isdigit():
            continue
        manifest = json.loads(manifest_path.read_text())
        for entry in manifest["runs"]:
            if not entry.get("record"):
                continue
            record = json.loads((manifest_path.parent / entry["record"]).read_text())
            runs.append(
                {
                    "seed": int(top[1:]),
                    "folder": manifest_path.parent.name,
                    "label": entry["label"],
                    "entry": entry,
                    "record": record,
                    "checkpoint": manifest_path.parent / entry["checkpoint"],
                }
            )
    return runs


def kind(run: dict[str, Any]) -> str:
    """gan (a teacher, which at a student's d is that d's from-scratch control) / gan-ema (a teacher
    sampled through its EMA) / mse / joint-λ / joint-λ-tdisc (discriminator started as the teacher's)."""
    entry = run["entry"]
    if entry["role"] in ("teacher", "scratch"):
        return "gan-ema" if entry.get("ema") else "gan"
    if entry["loss"] == "mse":
        return "mse"
    return f"joint-{entry['lambda']:g}" + ("-tdisc" if entry.get("discriminator_init") == "teacher" else "")


def label(kind_: str) -> str:
    """A kind as the tables' headers name it."""
    if kind_ == "mse":
        return "MSE"
    if kind_ == "gan-ema":
        return "DCGAN, EMA"
    lam = kind_.split("-")[1]
    return f"joint λ={lam}" + (", teacher's D" if kind_.endswith("-tdisc") else "")


def by(runs: list[dict[str, Any]]) -> dict[tuple[str, int], dict[int, dict[str, Any]]]:
    """{(kind, d): {seed: run}}."""
    table: dict[tuple[str, int], dict[int, dict[str, Any]]] = {}
    for run in runs:
        table.setdefault((kind(run), int(run["entry"]["d"])), {})[run["seed"]] = run
    return table


def samples(cell: dict[int, dict[str, Any]], metric: str, key: str) -> list[float]:
    return [v for v in (value(cell[s]["record"], metric, key) for s in sorted(cell)) if v is not None]


def bootstrap_halfwidth(cell: dict[int, dict[str, Any]], metric: str, key: str) -> float | None:
    """Mean over the cell's runs of half the width of each run's bootstrap interval (None without)."""
    widths = [(hi - lo) / 2 for lo, hi in (interval(cell[s]["record"], metric, key) for s in sorted(cell) if interval(cell[s]["record"], metric, key))]
    return float(np.mean(widths)) if widths else None


def fmt_cell(cell: dict[int, dict[str, Any]], metric: str, key: str, digits: int = 3) -> str:
    """mean [t-interval over seeds] ±mean bootstrap half-width (when the records carry intervals)."""
    text = fmt(samples(cell, metric, key), digits)
    half = bootstrap_halfwidth(cell, metric, key)
    return text if half is None or text == "–" else f"{text} ±{_g(half, 2)}"


def paired(a: dict[int, dict[str, Any]], b: dict[int, dict[str, Any]], metric: str, key: str) -> list[float]:
    """Per-seed differences a − b over the seeds both have (seed S's student distils seed S's teacher
    and shares its seed with seed S's scratch control)."""
    out = []
    for seed in sorted(set(a) & set(b)):
        va, vb = value(a[seed]["record"], metric, key), value(b[seed]["record"], metric, key)
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


def equality(diffs: list[float]) -> str:
    """'equal within the noise' when the interval of a − b contains 0, else 'worse' (above) or 'better'."""
    if len(diffs) < 2:
        return "too few seeds"
    _, low, high = t_interval(diffs)
    return "equal within the noise" if low <= 0 <= high else "worse" if low > 0 else "better"


def claim_row(claim: str, where: str, diffs: list[float], outcome: str, digits: int = 3) -> str:
    """One row of the claims table: the claim, where, the mean of the per-seed differences, their 95 %
    t-interval, the number of seeds and the outcome."""
    mean, low, high = t_interval(diffs)
    return _row([claim, where, _g(mean, digits), f"[{_g(low, digits)}, {_g(high, digits)}]", str(len(diffs)), outcome])


def compression_limit(beats: dict[int, str]) -> int | None:
    """The smallest student d down to which (from the largest) every claim 'beats' holds: the
    compression limit; None when it fails already at the largest d."""
    limit = None
    for d in sorted(beats, reverse=True):
        if beats[d] != "holds":
            break
        limit = d
    return limit


def vol_slopes(cells: dict, kind_: str, ds: list[int], seeds: list[int]) -> list[float]:
    """Per seed, the least-squares slope of VoL against log2(d) over ``ds`` (> 0: VoL falls as d shrinks)."""
    slopes = []
    for seed in seeds:
        pts = [(math.log2(d), value(cells[(kind_, d)][seed]["record"], "laplacian", "mean")) for d in ds if seed in cells.get((kind_, d), {})]
        pts = [(x, y) for x, y in pts if y is not None]
        if len(pts) >= 2:
            slopes.append(float(np.polyfit([p[0] for p in pts], [p[1] for p in pts], 1)[0]))
    return slopes


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


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _real_line(root: Path, study: Any) -> str | None:
    path = Path(root) / study.name / "real.json"
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    parts = [f"{name} {_g(v, 3)}" for name, metric, key in COLUMNS if (v := value(record, metric, key)) is not None]
    return f"Baseline, {study.real} (first images) scored as a generator against {study.reference}: " + ", ".join(parts) + "."


def study_tables(root: Path, study: Any, latency: bool = True) -> list[str]:
    """The tables of one study (teacher selection, students vs scratch, claims, compression)."""
    from trainers.dry_run import measure
    from trainers.models import Architecture
    from trainers.checkpoint import read_checkpoint

    runs = load_runs(root, study.name)
    if not runs:
        return [f"No scored runs of {study.name} in {root}."]
    cells = by(runs)
    teacher_d = study.teacher_d
    seeds = sorted({r["seed"] for r in runs})
    out: list[str] = []
    real = _real_line(root, study)
    if real:
        out.append(real + "\n")
    out.append(
        f"Seeds: {', '.join(map(str, seeds))}. A cell: mean [95 % t-interval over seeds] ±(mean half-width of each run's 95 % "
        "bootstrap interval of the score, 1,000 images: the sampling noise of one evaluation).\n"
    )

    out.append("#### Teacher selection: DCGAN over d\n")
    out.append(_row(["d", "steps", "generator parameters", "seeds", "FID ↓", "IS ↑", "KID ↓", "VoL"]))
    out.append("|---|---|---|---|---|---|---|---|")
    for d in sorted(d for k, d in cells if k == "gan"):
        cell = cells[("gan", d)]
        first = cell[min(cell)]["entry"]
        out.append(
            _row(
                [str(d), str(first["steps"]), f"{first['parameters']:,}", str(len(cell))]
                + [fmt_cell(cell, m, k) for m, k in (("fid", "fid"), ("is", "mean"), ("kid", "mean"), ("laplacian", "mean"))]
            )
        )

    student_ds = sorted({d for k, d in cells if k == "mse" or k.startswith("joint-")}, reverse=True)
    joints = sorted({k for k, _ in cells if k.startswith("joint-")})
    students = [k for k in ["mse", *joints] if any((k, d) in cells for d in student_ds)]
    out.append(f"\n#### Students of each seed's d = {teacher_d} teacher against same-size scratch controls (FID ↓ / IS ↑ / VoL)\n")
    header = ["student d", "compression", *[label(k) for k in students], "scratch (DCGAN)"]
    out.append(_row(header))
    out.append("|" + "---|" * len(header))
    for d in student_ds:
        some = next((cells[(k, d)] for k in students if (k, d) in cells), {})
        ratio = some[min(some)]["entry"].get("compression_ratio") if some else None
        row = [str(d), f"{ratio:.2f}×" if ratio else "–"]
        for k in [*students, "gan"]:
            cell = cells.get((k, d), {})
            row.append(" / ".join(fmt_cell(cell, m, key) for m, key in (("fid", "fid"), ("is", "mean"), ("laplacian", "mean"))) if cell else "–")
        out.append(_row(row))

    out.append("\n#### The claims as tests of intervals (paired by seed; 95 % t-interval of the per-seed difference)\n")
    out.append(_row(["claim", "d", "mean difference", "interval", "seeds", "verdict"]))
    out.append("|---|---|---|---|---|---|")
    beats: dict[str, dict[int, str]] = {}
    for k in students:
        for d in student_ds:
            if (k, d) not in cells or ("gan", d) not in cells:
                continue
            diffs = paired(cells[(k, d)], cells[("gan", d)], "fid", "fid")
            if not diffs:
                continue
            v = verdict(diffs, "lower")
            beats.setdefault(k, {})[d] = v
            out.append(claim_row(f"{k} student beats scratch (FID student − scratch < 0)", str(d), diffs, v))
    teacher_cell = cells.get(("gan", teacher_d), {})
    for k in students:
        for d in student_ds:
            if (k, d) in cells and teacher_cell:
                diffs = paired(cells[(k, d)], teacher_cell, "fid", "fid")
                if not diffs:
                    continue
                out.append(claim_row(f"{k} student as good as its teacher (FID student − teacher, 0 = equal)", str(d), diffs, equality(diffs)))
    for k in students:
        ds_k = [d for d in student_ds if (k, d) in cells]
        slopes = vol_slopes(cells, k, ds_k, seeds)
        if slopes:
            claim = f"VoL falls with compression ({k} students: slope of VoL per doubling of d > 0)"
            out.append(claim_row(claim, ",".join(map(str, ds_k)), slopes, verdict(slopes, "higher"), digits=4))
    ema_cell = cells.get(("gan-ema", teacher_d), {})
    if ema_cell and teacher_cell:
        diffs = paired(ema_cell, teacher_cell, "fid", "fid")
        if diffs:
            claim = "the teacher's EMA beats its raw weights (FID EMA − raw < 0; same training run)"
            out.append(claim_row(claim, str(teacher_d), diffs, verdict(diffs, "lower")))
    for k, result in beats.items():
        limit = compression_limit(result)
        out.append(
            f"\n{k}: beats scratch by its interval at d = {', '.join(str(d) for d, v in result.items() if v == 'holds') or 'none'}; "
            f"not shown at d = {', '.join(str(d) for d, v in result.items() if v != 'holds') or 'none'}; "
            f"compression limit (smallest d down to which every larger d holds): {limit if limit is not None else 'none (not shown at the largest d)'}."
        )

    out.append("\n#### Compression table (seed-0 checkpoint timed; scores over seeds)\n")
    out.append(_row(["model", "parameters", "MACs / image", "latency / image (1 thread)", "× teacher", *[c[0] for c in COLUMNS]]))
    out.append("|" + "---|" * (5 + len(COLUMNS)))
    rows = [(f"teacher d={teacher_d}", ("gan", teacher_d)), (f"teacher d={teacher_d}, EMA", ("gan-ema", teacher_d))]
    rows += [(f"{label(k)} d={d}", (k, d)) for k in students for d in student_ds]
    rows += [(f"scratch d={d}", ("gan", d)) for d in student_ds]
    base = None
    for name, key in rows:
        cell = cells.get(key)
        if not cell:
            continue
        first = cell[min(cell)]
        arch = Architecture(**read_checkpoint(first["checkpoint"])["record"]["architecture"])
        m = measure("generator", arch)
        timing = "–"
        ratio = "–"
        if latency:
            seconds = latency_per_image(first["checkpoint"])
            base = base or seconds
            timing, ratio = f"{seconds * 1e6:.0f} µs", f"{seconds / base:.2f}"
        out.append(_row([name, f"{m['parameters']:,}", f"{m['macs']:,}", timing, ratio, *[fmt_cell(cell, metric, key2) for _, metric, key2 in COLUMNS]]))
    return out


def wall_time_table(root: Path) -> list[str]:
    from .jobs import wall_times

    times = wall_times(Path(root))
    if not times:
        return []
    out = ["| job | wall time | command |", "|---|---|---|"]
    for name, done in sorted(times.items(), key=lambda item: item[1]["started"]):
        command = done["command"].split(" -m ", 1)[-1]
        out.append(f"| {name} | {done['wall_s'] / 60:.1f} min | `gan-eval {command.removeprefix('gan_eval ')}` |")
    first = min(d["started"] for d in times.values())
    last = max(d["started"] + d["wall_s"] for d in times.values())
    out.append(
        f"\nTotal: {sum(d['wall_s'] for d in times.values()) / 60:.0f} job-minutes; first start to last end "
        f"{time.strftime('%H:%M', time.gmtime(first))}–{time.strftime('%H:%M', time.gmtime(last))} UTC ({(last - first) / 60:.0f} min)."
    )
    return out


def write_tables(root: Path, scale: Any, latency: bool = True) -> str:
    """Every study's tables, then the wall time of every job (markdown)."""
    torch.set_num_threads(1)
    out: list[str] = []
    for study in scale.studies:
        out.append(f"### {study.name}\n")
        out += study_tables(Path(root), study, latency=latency)
        out.append("")
    wall = wall_time_table(Path(root))
    if wall:
        out.append("### Wall time of every job (2 jobs in parallel, 1 thread each)\n")
        out += wall
    return "\n".join(out)
