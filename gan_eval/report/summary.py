"""The summary table: every run × every metric's primary value, with the best value per metric marked."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from .runs import TRAINER_FACTS, ReportRun, summary_metric_names

FACT_TITLES = {
    "role": "role",
    "arch": "arch",
    "d": "d",
    "parameters": "parameters",
    "teacher_parameters": "teacher params",
    "compression_ratio": "compression",
    "dataset": "data",
}


@dataclass
class MetricColumn:
    name: str
    primary: str | None
    higher_is_better: bool | None

    @property
    def direction(self) -> str:
        return {True: "higher is better", False: "lower is better"}.get(self.higher_is_better, "no better direction")  # type: ignore[arg-type]

    @property
    def arrow(self) -> str:
        return {True: "↑", False: "↓"}.get(self.higher_is_better, "")  # type: ignore[arg-type]


@dataclass
class Cell:
    value: float | None
    best: bool = False
    other: dict[str, float] = field(default_factory=dict)
    #: The value's confidence interval (low, high), when the run recorded one.
    interval: tuple[float, float] | None = None
    #: Best value, but its interval overlaps another run's: not distinguishable from it.
    tied: bool = False


@dataclass
class SummaryRow:
    label: str
    spec: str
    count: Any
    facts: dict[str, Any]
    cells: list[Cell]


#: Facts shown as a column only when they differ between runs (else once, under the table).
CONSTANT_FACTS_BELOW = ("arch", "dataset")
#: Facts left to the reproducibility block (the compression ratio already says it).
FACTS_NOT_IN_TABLE = ("teacher_parameters",)


@dataclass
class Summary:
    facts: list[str]
    columns: list[MetricColumn]
    rows: list[SummaryRow]
    #: Facts every run shares (``{"arch": "dcgan"}``), shown once instead of as a column.
    common: dict[str, Any] = field(default_factory=dict)


def best_indices(values: Sequence[float | None], higher_is_better: bool | None) -> set[int]:
    """Indices of the best finite values (all of them on a tie); none without a direction or a contest."""
    finite = [(i, v) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    if higher_is_better is None or len(finite) < 2:
        return set()
    best = (max if higher_is_better else min)(v for _, v in finite)
    return {i for i, v in finite if v == best}


def tied_with(best: int, intervals: Sequence[tuple[float, float] | None]) -> set[int]:
    """Runs whose interval overlaps the best run's: the data cannot tell them apart. Empty when the
    best run has no interval (then the plain best value is marked, as without intervals)."""
    mine = intervals[best]
    if mine is None:
        return set()
    return {i for i, other in enumerate(intervals) if i != best and other is not None and other[0] <= mine[1] and mine[0] <= other[1]}


def build_summary(runs: Sequence[ReportRun]) -> Summary:
    names = summary_metric_names(list(runs))
    columns = [_column(runs, name) for name in names]
    facts, common = [], {}
    for key in TRAINER_FACTS:
        values = [run.fact(key) for run in runs]
        if key in FACTS_NOT_IN_TABLE or all(v is None for v in values):
            continue
        if key in CONSTANT_FACTS_BELOW and len(runs) > 1 and len({repr(v) for v in values}) == 1:
            common[key] = values[0]
        else:
            facts.append(key)
    rows = []
    for run in runs:
        cells = []
        for column in columns:
            result = run.result(column.name)
            shown: dict[str, Any] = dict(result.get("values", {})) if result else {}
            primary = shown.pop(column.primary, None) if column.primary else None
            found = ((result or {}).get("intervals") or {}).get(column.primary or "")
            interval = (float(found["low"]), float(found["high"])) if isinstance(found, dict) and "low" in found else None
            cells.append(Cell(float(primary) if isinstance(primary, (int, float)) else None, other=shown, interval=interval))
        rows.append(SummaryRow(run.label, str(run.generated.get("spec", "")), run.generated.get("count"), {key: run.fact(key) for key in facts}, cells))
    for j, column in enumerate(columns):
        intervals = [row.cells[j].interval for row in rows]
        for i in best_indices([row.cells[j].value for row in rows], column.higher_is_better):
            tied = tied_with(i, intervals)
            if tied:  # the best value's interval overlaps others': a tie, not a winner
                for k in {i, *tied}:
                    rows[k].cells[j].tied = True
            else:
                rows[i].cells[j].best = True
    return Summary(facts, columns, rows, common)


def _column(runs: Sequence[ReportRun], name: str) -> MetricColumn:
    """A metric's column; if runs disagree on its primary key or direction, no best is marked."""
    declared = {(result.get("primary"), result.get("higher_is_better")) for r in runs if (result := r.result(name))}
    if len(declared) == 1:
        primary, higher = declared.pop()
        return MetricColumn(name, primary, higher)
    primaries = {p for p, _ in declared}
    return MetricColumn(name, primaries.pop() if len(primaries) == 1 else None, None)
