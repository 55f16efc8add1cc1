"""The experiment's figure: FID, IS and VoL against d per study (the paper's Fig. 2, with seeds).

One panel per metric; one series per kind of run (DCGAN over d — the teachers and, below the
teacher's d, the scratch controls — MSE students, joint students). A point is the mean over seeds, its
bar the 95 % Student-t interval over seeds (:func:`tables.t_interval`), drawn with the report's
:func:`gan_eval.report.bars.draw_bars`, so the SVG's bar ends are the table's numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gan_eval.report.bars import Bar, draw_bars
from gan_eval.report.plots import new_figure, report_style

from . import tables

#: (panel title, metric, value key) of the figure
PANELS = (("FID ↓", "fid", "fid"), ("IS ↑", "is", "mean"), ("VoL", "laplacian", "mean"))
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2")


def series(cells: dict[tuple[str, int], dict[int, dict[str, Any]]], metric: str, key: str) -> dict[str, list[tuple[int, float, float, float]]]:
    """{kind: [(d, mean, low, high)]} over the kinds plotted (DCGAN, MSE, joint), d ascending."""
    out: dict[str, list[tuple[int, float, float, float]]] = {}
    for kind_, d in sorted(cells):
        if kind_ == "gan-ema":
            continue
        values = tables.samples(cells[(kind_, d)], metric, key)
        if values:
            out.setdefault(kind_, []).append((d, *tables.t_interval(values)))
    return out


def write_figure(root: Path, study: Any, path: Path) -> Path | None:
    """Write ``path`` (SVG) for one study; None when it has no scored runs."""
    runs = tables.load_runs(root, study.name)
    if not runs:
        return None
    cells = tables.by(runs)
    seeds = sorted({r["seed"] for r in runs})
    with report_style():
        figure, axes = new_figure(len(PANELS), width=3.6, height=2.8)
        for ax, (title, metric, key) in zip(axes, PANELS):
            for index, (kind_, points) in enumerate(sorted(series(cells, metric, key).items(), key=lambda item: item[0] != "gan")):
                color = COLORS[index % len(COLORS)]
                name = "DCGAN (teacher / scratch)" if kind_ == "gan" else tables.label(kind_)
                ds = [p[0] for p in points]
                ax.plot(ds, [p[1] for p in points], marker="o", markersize=3.5, color=color, label=name, gid=f"{metric}-{kind_}-means")
                draw_bars(ax, [Bar(d, low, high) for d, _, low, high in points], color, gid=f"{metric}-{kind_}-bars")
            ax.set_xscale("log", base=2)
            ticks = sorted({d for _, d in cells})
            ax.set_xticks(ticks, labels=[str(d) for d in ticks])
            ax.minorticks_off()
            ax.set_xlabel("d (depth factor)")
            ax.set_title(title)
            ax.axvline(study.teacher_d, color="#888888", linewidth=0.8, linestyle=":")
        handles, names = axes[0].get_legend_handles_labels()
        figure.legend(handles, names, loc="outside right upper")
        figure.suptitle(f"{study.name}: mean over seeds {', '.join(map(str, seeds))}, bars 95 % t-interval over seeds; dotted: the teacher's d", fontsize=9)
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="svg", metadata={"Date": None})
    return path
