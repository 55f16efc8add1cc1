"""The comparison table: each run's difference to a baseline run (teacher vs students, say), with a
paired bootstrap interval when both runs saved their states (``score --save-states``).

The paired interval comes from the library's comparison (:func:`gan_eval.compare.compare_states`,
reached through the ``paired`` callable the API passes in, ``gan_eval.api.compare`` on the two
record files); without states the difference is shown as a plain number and the table says it has
no interval. Only runs over the baseline's reference are compared.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Sequence

from ..errors import GanEvalError, UsageError
from .runs import ReportRun, reference_identity, summary_metric_names
from .section import Block, ReportSection, Table, Text

#: ``paired(baseline, run)`` → ``gan_eval.api.compare``'s answer for their record files.
Paired = Callable[[ReportRun, ReportRun], dict[str, Any]]


def choose_baseline(runs: Sequence[ReportRun], label: str | None) -> ReportRun:
    """The run named ``label`` (as the summary table shows it), or the first run."""
    if label is None:
        return runs[0]
    for run in runs:
        if run.label == label:
            return run
    raise UsageError(f"--baseline {label!r}: no run has that label (the runs: {', '.join(repr(r.label) for r in runs)})")


def has_states(run: ReportRun) -> bool:
    info = run.record.get("states_file")
    return isinstance(info, dict) and isinstance(info.get("path"), str) and bool(run.origin)


class ComparisonSection(ReportSection):
    """Per run and metric: baseline value, run value, run − baseline, its interval and p-value."""

    name = "comparison"
    title = "Differences to the baseline run"
    order = 90

    def __init__(self, baseline: str | None = None, paired: Paired | None = None):
        self.baseline, self.paired = baseline, paired

    def applies(self, runs: Sequence[ReportRun]) -> bool:
        return len(self._partners(runs)) >= 1

    def _partners(self, runs: Sequence[ReportRun]) -> list[ReportRun]:
        base = choose_baseline(runs, self.baseline)
        if not base.reference:
            return []
        identity = reference_identity(base.reference)
        return [r for r in runs if r is not base and r.reference and reference_identity(r.reference) == identity]

    def blocks(self, runs: Sequence[ReportRun]) -> list[Block]:
        base = choose_baseline(runs, self.baseline)
        partners = self._partners(runs)
        names = [n for n in summary_metric_names(list(runs)) if base.primary(n) is not None]
        rows, notes, level = [], [], None
        for run in partners:
            answer, why = self._paired(base, run)
            if why:
                notes.append(f"{run.label}: {why}")
            for name in names:
                result, mine = base.result(name) or {}, run.primary(name)
                if mine is None:
                    continue
                key = result.get("primary")
                found = ((answer or {}).get("results", {}).get(name) or {}).get(key)
                difference = mine - base.primary(name)  # type: ignore[operator]
                if found:
                    level = found.get("level", level)
                    interval = f"[{_g(found['low'])}, {_g(found['high'])}]"
                    verdict = ("significant" if found.get("significant") else "not significant") + f", p = {_g(found.get('p_value'))}"
                    difference = float(found["difference"])
                else:
                    interval, verdict = "–", "no interval (see below)"
                rows.append([run.label, f"{name}.{key}", base.primary(name), mine, difference, interval, verdict])
        blocks: list[Block] = [
            Text(
                f"Baseline: {base.label}. Each row is run − baseline for the metric's primary value; the interval and p-value come from the paired "
                f"bootstrap of gan-eval compare (the runs' saved states, one shared resample of the reference"
                + (f", {100 * float(level):g} % level" if level is not None else "")
                + "): a difference is significant when its interval excludes 0."
            ),
            Table(["run", "value", f"baseline ({base.label})", "run", "run − baseline", "interval", "verdict"], rows),
        ]
        if notes:
            blocks.append(Text("Differences without an interval: " + "; ".join(notes) + "."))
        others = [r.label for r in runs if r is not base and r not in partners]
        if others:
            blocks.append(Text(f"Not compared (a different reference than the baseline's, or none): {', '.join(others)}."))
        return blocks

    def _paired(self, base: ReportRun, run: ReportRun) -> tuple[dict[str, Any] | None, str | None]:
        """The paired comparison, or why there is none (then differences are shown without interval)."""
        missing = [r.label for r in (base, run) if not has_states(r)]
        if missing:
            return None, f"the difference can't be given an interval: {' and '.join(missing)} saved no states (score with --out and --save-states)"
        if self.paired is None:
            return None, "the difference can't be given an interval: this report was made without access to the saved states"
        print(f"gan-eval report: paired comparison of {run.label} with {base.label} from their saved states ...", file=sys.stderr, flush=True)
        try:
            answer = self.paired(base, run)
        except GanEvalError as exc:
            return None, f"the difference can't be given an interval: {exc}"
        if not answer.get("comparable", True):
            return None, "the runs are not comparable (" + "; ".join(answer.get("reasons", [])) + ")"
        return answer, None


def _g(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) else "–"
