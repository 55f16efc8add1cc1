"""Error bars for the report's plots: drawn from recorded intervals, never estimated here.

A bar spans exactly the interval's ``low`` to ``high`` (a line collection with small caps), so a
reader of the SVG finds the record's numbers at the bar's ends; a value without an interval gets no
bar. :func:`bar_caption` says what the bars are (level, method, resamples), from the intervals drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

#: Colour of bars and bands drawn for reference lines (teachers) without a series colour.
NEUTRAL = "#888888"


@dataclass(frozen=True)
class Bar:
    """One error bar: at position ``at`` (x for vertical bars, y for horizontal ones), from low to high."""

    at: float
    low: float
    high: float


def bars_from(points: Iterable[tuple[float, Any]]) -> list[Bar]:
    """Bars for (position, interval-or-None) pairs; points without an interval are left out."""
    return [Bar(float(at), float(found["low"]), float(found["high"])) for at, found in points if found is not None]


def draw_bars(ax, bars: Sequence[Bar], color: str, gid: str, horizontal: bool = False) -> None:
    """Draw bars on ``ax`` as one line collection with id ``gid`` (caps as a second, ``gid-caps``)."""
    if not bars:
        return
    at = [b.at for b in bars]
    low = [b.low for b in bars]
    high = [b.high for b in bars]
    if horizontal:
        ax.hlines(at, low, high, colors=color, linewidth=1.2, gid=gid, zorder=2)
        ax.scatter(low + high, at + at, marker="|", s=30, color=color, linewidths=1.2, gid=f"{gid}-caps", zorder=2)
    else:
        ax.vlines(at, low, high, colors=color, linewidth=1.2, gid=gid, zorder=2)
        ax.scatter(at + at, low + high, marker="_", s=30, color=color, linewidths=1.2, gid=f"{gid}-caps", zorder=2)


def describe(found: dict[str, Any]) -> str:
    """``95 % bca bootstrap (200 resamples)`` for one recorded interval."""
    level = found.get("level")
    text = f"{100 * float(level):g} %" if isinstance(level, (int, float)) else "confidence"
    method = found.get("method")
    text += f" {method} bootstrap" if method else " bootstrap"
    if isinstance(found.get("resamples"), int):
        text += f" ({found['resamples']} resamples)"
    return text


def bar_caption(intervals: Iterable[Any], missing: int = 0) -> str:
    """A caption sentence for the bars of a figure: which intervals they are, and what has none."""
    kinds = sorted({describe(found) for found in intervals if found is not None})
    if not kinds:
        return "No value shown has a recorded interval, so no error bars are drawn."
    text = f"Error bars: {'; '.join(kinds)} intervals from the records."
    if missing:
        text += f" {missing} value{'s' if missing != 1 else ''} without a recorded interval {'are' if missing != 1 else 'is'} drawn without a bar."
    return text
