"""Built-in plots: each metric against the trainer's depth factor d, compression ratio, or per run.

Figures are drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, no global
state), so sections can build them in any process, including a headless CI runner.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Sequence

from .bars import NEUTRAL, bar_caption, bars_from, draw_bars
from .runs import ReportRun, summary_metric_names
from .section import Block, Figure, ReportSection

#: A quiet palette that survives grayscale printing reasonably (Tableau 10, reordered).
PALETTE = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd"]
ROLE_MARKERS = {"teacher": "s", "student": "o", "scratch": "^"}

STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e6e6e6",
    "grid.linewidth": 0.8,
    "axes.edgecolor": "#888888",
    "legend.frameon": False,
    "legend.fontsize": 8,
    "axes.formatter.useoffset": False,
}


@contextlib.contextmanager
def report_style() -> Iterator[None]:
    import matplotlib

    with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]
        yield


def new_figure(panels: int, width: float = 3.4, height: float = 2.6, columns: int = 3):
    """A matplotlib Figure with ``panels`` axes in a grid (at most ``columns`` wide), Agg-backed."""
    from matplotlib.figure import Figure as MplFigure

    cols = min(columns, max(1, panels))
    rows = -(-panels // cols)
    figure = MplFigure(figsize=(width * cols, height * rows), layout="constrained")
    axes = figure.subplots(rows, cols, squeeze=False).ravel()
    for extra in axes[panels:]:
        extra.set_visible(False)
    return figure, list(axes[:panels])


def _numeric(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class MetricTrendsSection(ReportSection):
    """Primary metric values against d and compression ratio (trainer runs), else one dot per run."""

    name = "metric-trends"
    title = "Metrics across runs"
    order = 100

    AXES = (("d", "depth factor d"), ("compression_ratio", "compression ratio (teacher / student parameters)"))

    def applies(self, runs: Sequence[ReportRun]) -> bool:
        return len(runs) >= 2 and bool(self._metrics(runs))

    def blocks(self, runs: Sequence[ReportRun]) -> list[Block]:
        metrics = self._metrics(runs)
        blocks: list[Block] = []
        with report_style():
            for key, label in self.AXES:
                if sum(_numeric(r.fact(key)) is not None for r in runs) >= 2:
                    blocks.append(self._trend(runs, metrics, key, label))
            if not blocks:
                blocks.append(self._dots(runs, metrics))
        return blocks

    @staticmethod
    def _metrics(runs: Sequence[ReportRun]) -> list[str]:
        return [n for n in summary_metric_names(list(runs)) if sum(r.primary(n) is not None for r in runs) >= 2]

    def _trend(self, runs: Sequence[ReportRun], metrics: list[str], key: str, label: str) -> Figure:
        figure, axes = new_figure(len(metrics))
        roles = sorted({str(r.fact("role") or "run") for r in runs})
        shown: list = []
        for ax, metric in zip(axes, metrics):
            ax.set_gid(f"panel-{key}-{metric}")
            for index, role in enumerate(roles):
                points = sorted(
                    ((_numeric(r.fact(key)), r.primary(metric), r.interval(metric)) for r in runs if str(r.fact("role") or "run") == role),
                    key=lambda p: (p[0] is None, p[0] or 0.0),
                )
                points = [p for p in points if p[0] is not None and p[1] is not None]
                if points:
                    color = PALETTE[index % len(PALETTE)]
                    xs, ys, found = zip(*points)
                    draw_bars(ax, bars_from(zip(xs, found)), color, f"bars-{key}-{metric}-{role}")
                    ax.plot(xs, ys, marker=ROLE_MARKERS.get(role, "o"), color=color, label=role, linewidth=1.4, markersize=5, zorder=3)
                    shown.extend(found)
            if key == "compression_ratio":  # teachers have no ratio: draw them as horizontal lines (their interval as a band)
                for run in runs:
                    if run.fact("role") == "teacher" and run.primary(metric) is not None and _numeric(run.fact(key)) is None:
                        ax.axhline(run.primary(metric), color=NEUTRAL, linestyle="--", linewidth=1, label=f"teacher {_short(run.label, 20)}")
                        found = run.interval(metric)
                        if found is not None:
                            ax.axhspan(found["low"], found["high"], color=NEUTRAL, alpha=0.15, linewidth=0, gid=f"band-{metric}-{run.label}")
                        shown.append(found)
                _plain_log_axis(ax)
            ax.set_title(_metric_title(runs, metric))
            ax.set_xlabel(label)
            if len(ax.get_legend_handles_labels()[1]) > 1:
                ax.legend()
        caption = f"Primary value of each metric against {label}. " + bar_caption(shown, sum(f is None for f in shown))
        if key == "compression_ratio":
            caption += " Dashed lines: teachers (shaded: their interval)."
        return Figure.from_matplotlib(figure, caption, vector=True)

    def _dots(self, runs: Sequence[ReportRun], metrics: list[str]) -> Figure:
        figure, axes = new_figure(len(metrics), height=0.5 + 0.28 * len(runs))
        labels = [r.label for r in runs]
        shown: list = []
        for ax, metric in zip(axes, metrics):
            ax.set_gid(f"panel-runs-{metric}")
            values = [r.primary(metric) for r in runs]
            ys = [i for i, v in enumerate(values) if v is not None]
            found = [runs[i].interval(metric) for i in ys]
            draw_bars(ax, bars_from(zip(ys, found)), PALETTE[0], f"bars-runs-{metric}", horizontal=True)
            ax.scatter([values[i] for i in ys], ys, color=PALETTE[0], s=22, zorder=3)
            ax.set_yticks(range(len(labels)), [_short(label) for label in labels])
            ax.set_ylim(len(labels) - 0.5, -0.5)
            ax.set_title(_metric_title(runs, metric))
            shown.extend(found)
        caption = "Primary value of each metric, one row per run. " + bar_caption(shown, sum(f is None for f in shown))
        return Figure.from_matplotlib(figure, caption, vector=True)


def _plain_log_axis(ax) -> None:
    """A log x axis labelled 2, 4, 8 ... rather than 4×10⁰ (compression ratios are small numbers)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(LogLocator(base=2))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _metric_title(runs: Sequence[ReportRun], metric: str) -> str:
    for run in runs:
        result = run.result(metric)
        if result:
            arrow = {True: " (higher is better)", False: " (lower is better)"}.get(result.get("higher_is_better"), "")  # type: ignore[arg-type]
            return f"{metric}: {result.get('primary')}{arrow}"
    return metric


def _short(text: str, width: int = 28) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
