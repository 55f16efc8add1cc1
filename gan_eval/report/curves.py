"""Sample-size curves: a metric against the number of generated images N, so a reader sees whether N
is enough (a curve still moving at the right end says it is not).

Generic: any result whose ``details["curve"]`` is ``{"n": [...], VALUE: [...], "low": [...],
"high": [...], "level", "resamples", "seed"}`` (as ``-O fid.curve=true`` stores it, VALUE being
``fid``) gets a panel; ``low``/``high`` entries may be null (no bar there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from .bars import bar_caption, bars_from, draw_bars
from .plots import PALETTE, new_figure, report_style
from .runs import ReportRun, summary_metric_names
from .section import Block, Figure, ReportSection, Text

#: Lists of a curve that are not its values.
NOT_VALUES = ("n", "low", "high", "blocks")


@dataclass
class Curve:
    """One run's curve of one result: N, the value at each N, and each point's interval (or None)."""

    key: str
    n: list[float]
    values: list[float]
    intervals: list[dict[str, Any] | None]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read_curve(result: dict[str, Any] | None) -> Curve | None:
    """The result's sample-size curve, or None when its details hold none (or an empty/odd one)."""
    curve = ((result or {}).get("details") or {}).get("curve")
    if not isinstance(curve, dict) or not isinstance(curve.get("n"), list) or not curve["n"]:
        return None
    lists = [k for k, v in curve.items() if k not in NOT_VALUES and isinstance(v, list) and len(v) == len(curve["n"])]
    key = result.get("primary") if result.get("primary") in lists else (lists[0] if len(lists) == 1 else None)  # type: ignore[union-attr]
    if key is None:
        return None
    lows, highs = curve.get("low") or [None] * len(curve["n"]), curve.get("high") or [None] * len(curve["n"])
    n, values, intervals = [], [], []
    for size, value, low, high in zip(curve["n"], curve[key], lows, highs):
        if not (_number(size) and _number(value)) or size <= 0:
            continue
        n.append(float(size))
        values.append(float(value))
        found = None
        if _number(low) and _number(high):
            found = {"low": low, "high": high, "level": curve.get("level"), "method": curve.get("method"), "resamples": curve.get("resamples")}
        intervals.append(found)
    return Curve(key, n, values, intervals) if n else None


def why_empty(result: dict[str, Any] | None) -> str | None:
    curve = ((result or {}).get("details") or {}).get("curve")
    return curve.get("why_empty") if isinstance(curve, dict) else None


class SampleSizeSection(ReportSection):
    """Each curve-carrying metric against N (log axis), one series per run, with interval bars."""

    name = "sample-size"
    title = "Sample size: metric against the number of images"
    order = 110

    def applies(self, runs: Sequence[ReportRun]) -> bool:
        return bool(self._names(runs)) or any(why_empty(r.result(n)) for r in runs for n in summary_metric_names(list(runs)))

    @staticmethod
    def _names(runs: Sequence[ReportRun]) -> list[str]:
        return [n for n in summary_metric_names(list(runs)) if any(read_curve(r.result(n)) for r in runs)]

    def blocks(self, runs: Sequence[ReportRun]) -> list[Block]:
        blocks: list[Block] = []
        empty = [f"{r.label} ({n}): {why}" for n in summary_metric_names(list(runs)) for r in runs if (why := why_empty(r.result(n)))]
        names = self._names(runs)
        if names:
            blocks.append(self._figure(runs, names))
        if empty:
            blocks.append(Text("No curve: " + "; ".join(empty) + "."))
        return blocks

    def _figure(self, runs: Sequence[ReportRun], names: list[str]) -> Figure:
        with report_style():
            figure, axes = new_figure(len(names), width=4.2, height=3.0, columns=2)
            shown: list = []
            for ax, name in zip(axes, names):
                ax.set_gid(f"panel-curve-{name}")
                key = ""
                for index, run in enumerate(runs):
                    curve = read_curve(run.result(name))
                    if curve is None:
                        continue
                    key, color = curve.key, PALETTE[index % len(PALETTE)]
                    draw_bars(ax, bars_from(zip(curve.n, curve.intervals)), color, f"bars-curve-{name}-{run.label}")
                    ax.plot(curve.n, curve.values, marker="o", color=color, label=run.label, linewidth=1.4, markersize=4, zorder=3)
                    shown.extend(curve.intervals)
                log_n_axis(ax)
                ax.set_title(f"{name}: {key} against N")
                ax.set_xlabel("generated images N (log scale)")
                ax.set_ylabel(key)
                if len(ax.get_legend_handles_labels()[1]) > 1:
                    ax.legend()
        caption = (
            "Each point is the metric on the first N generated images (nested subsets of one pass) against the whole reference; "
            "the last point is the full set. A curve still moving at the right end means N is not enough for the value to have settled. "
        )
        return Figure.from_matplotlib(figure, caption + bar_caption(shown, sum(f is None for f in shown)), vector=True)


def log_n_axis(ax) -> None:
    """A log-10 x axis labelled with plain numbers (100, 200, 500, 1000)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
