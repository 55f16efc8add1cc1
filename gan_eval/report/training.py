"""Training curves: each metric a trainer logged during training against the step, with the logged
interval as bars and the kept best checkpoint marked, plus the losses.

Reads ``inputs.generated.training_log`` (``gan-eval-training-log/1``, written by the trainers'
``training_log.record_entry``): ``rows`` of ``{"step", "losses", "values", "intervals": {key: [low,
high]}}`` and ``best`` ``{"metric", "mode", "step", "value", "checkpoint"}`` or null.
"""

from __future__ import annotations

from typing import Any, Sequence

from .bars import Bar, draw_bars
from .plots import PALETTE, new_figure, report_style
from .runs import ReportRun
from .section import Block, Figure, ReportSection, Table

LOG_FORMAT = "gan-eval-training-log/1"
BEST_COLOR = "#c44e52"


def training_log(run: ReportRun) -> dict[str, Any] | None:
    """The run's training log when it is one this report reads and holds rows, else None."""
    log = run.generated.get("training_log")
    if isinstance(log, dict) and log.get("format") == LOG_FORMAT and isinstance(log.get("rows"), list) and log["rows"]:
        return log
    return None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def series(log: dict[str, Any], group: str, key: str) -> list[tuple[float, float]]:
    """(step, value) of one logged value (``group`` "values" or "losses"), in step order."""
    points = [(row.get("step"), (row.get(group) or {}).get(key)) for row in log["rows"] if isinstance(row, dict)]
    return sorted((float(s), float(v)) for s, v in points if isinstance(s, (int, float)) and isinstance(v, (int, float)) and _number(s) and _number(v))


def logged_bars(log: dict[str, Any], key: str) -> list[Bar]:
    bars = []
    for row in log["rows"]:
        pair = (row.get("intervals") or {}).get(key) if isinstance(row, dict) else None
        if isinstance(pair, (list, tuple)) and len(pair) == 2 and all(map(_number, pair)) and _number(row.get("step")):
            bars.append(Bar(float(row["step"]), float(pair[0]), float(pair[1])))
    return bars


def keys(logs: Sequence[dict[str, Any]], group: str) -> list[str]:
    found: dict[str, None] = {}
    for log in logs:
        for row in log["rows"]:
            if isinstance(row, dict):
                found.update(dict.fromkeys(k for k, v in (row.get(group) or {}).items() if _number(v)))
    return list(found)


class TrainingCurvesSection(ReportSection):
    """Per logged metric one panel (runs as series), then one panel of losses per run."""

    name = "training-curves"
    title = "Training curves"
    order = 120

    def applies(self, runs: Sequence[ReportRun]) -> bool:
        return any(training_log(r) for r in runs)

    def blocks(self, runs: Sequence[ReportRun]) -> list[Block]:
        logged = [(index, run, log) for index, run in enumerate(runs) if (log := training_log(run))]
        metrics = keys([log for _, _, log in logged], "values")
        blocks: list[Block] = []
        with report_style():
            if metrics:
                blocks.append(self._metrics(logged, metrics))
            with_losses = [(i, r, log) for i, r, log in logged if keys([log], "losses")]
            if with_losses:
                blocks.append(self._losses(with_losses))
        best = [
            [run.label, log["best"].get("metric"), log["best"].get("mode"), log["best"].get("step"), log["best"].get("value"), log["best"].get("checkpoint")]
            for _, run, log in logged
            if isinstance(log.get("best"), dict)
        ]
        if best:
            blocks.append(Table(["run", "kept by", "mode", "best step", "value", "checkpoint"], best))
        return blocks

    def _metrics(self, logged, metrics: list[str]) -> Figure:
        figure, axes = new_figure(len(metrics), width=4.2, height=3.0, columns=2)
        bars_drawn = marked = 0
        for ax, key in zip(axes, metrics):
            ax.set_gid(f"panel-training-{key}")
            for index, run, log in logged:
                points = series(log, "values", key)
                if not points:
                    continue
                color = PALETTE[index % len(PALETTE)]
                bars = logged_bars(log, key)
                draw_bars(ax, bars, color, f"bars-training-{key}-{run.label}")
                bars_drawn += len(bars)
                xs, ys = zip(*points)
                ax.plot(xs, ys, marker="o", color=color, label=run.label, linewidth=1.4, markersize=4, zorder=3)
                best = log.get("best")
                if isinstance(best, dict) and best.get("metric") == key and _number(best.get("step")) and _number(best.get("value")):
                    ax.axvline(float(best["step"]), color=BEST_COLOR, linestyle=":", linewidth=1, gid=f"best-line-{key}-{run.label}", zorder=1)
                    ax.scatter(
                        [float(best["step"])],
                        [float(best["value"])],
                        marker="*",
                        s=140,
                        color=BEST_COLOR,
                        zorder=4,
                        gid=f"best-{key}-{run.label}",
                        label=f"best checkpoint ({run.label})" if len(logged) > 1 else "best checkpoint",
                    )
                    marked += 1
            ax.set_title(key)
            ax.set_xlabel("training step")
            integer_steps(ax)
            if len(ax.get_legend_handles_labels()[1]) > 1:
                ax.legend()
        caption = "Each value logged at an evaluation during training, against the step."
        if marked:
            caption += " Red star and dotted line: the step whose checkpoint was kept as the best (OUT.best.pt)."
        caption += (
            " Error bars: the interval logged with each evaluation (the log does not record its level; gan_eval.Evaluator, which the trainer calls, "
            "defaults to 95 % bootstrap)."
            if bars_drawn
            else " No evaluation logged an interval, so no error bars are drawn."
        )
        return Figure.from_matplotlib(figure, caption, vector=True)

    def _losses(self, logged) -> Figure:
        figure, axes = new_figure(len(logged), width=4.2, height=2.6, columns=2)
        for ax, (_, run, log) in zip(axes, logged):
            ax.set_gid(f"panel-losses-{run.label}")
            for j, name in enumerate(keys([log], "losses")):
                xs, ys = zip(*series(log, "losses", name))
                ax.plot(xs, ys, color=PALETTE[j % len(PALETTE)], label=name, linewidth=1.2, marker="." if len(xs) < 30 else None)
            ax.set_title(f"losses: {run.label}")
            ax.set_xlabel("training step")
            integer_steps(ax)
            ax.legend()
        return Figure.from_matplotlib(
            figure, "Losses at each logged step (the last generator update's values; no intervals: they are single numbers).", vector=True
        )


def integer_steps(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
