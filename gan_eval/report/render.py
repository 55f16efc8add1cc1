"""Render runs into one self-contained HTML file: Jinja2 with autoescaping, images as data: URLs.

Nothing in the page loads from anywhere: no scripts at all, styles inline, images embedded, and a
Content-Security-Policy that forbids every fetch except ``data:`` images, so the file opens from disk
and stays inert whatever text the records hold.
"""

from __future__ import annotations

import datetime as dt
import math
import shlex
import sys
import traceback
from pathlib import Path
from typing import Any, Sequence

import jinja2

from ..version import __version__
from ..atomic import atomic_write_text
from .comparison import ComparisonSection, Paired, choose_baseline
from .curves import SampleSizeSection
from .plots import MetricTrendsSection
from .runs import TRAINER_FACTS, ReportRun, comparability_warnings
from .section import RenderedSection, ReportSection
from .summary import FACT_TITLES, build_summary
from .training import TrainingCurvesSection

TEMPLATES = Path(__file__).parent / "templates"
#: Sections every report has (before plugin sections of larger ``order``).
BUILTIN_SECTIONS: tuple[type[ReportSection], ...] = (ComparisonSection, MetricTrendsSection, SampleSizeSection, TrainingCurvesSection)


def fmt(value: Any) -> str:
    """Numbers as a reader wants them: 4 significant digits, thousands grouped for big integers."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if 1e3 <= abs(value) < 1e9:
            return f"{value:,.0f}"
        return f"{value:.4g}" if 1e-3 <= abs(value) or value == 0 else f"{value:.3e}"
    return str(value)


def command_line(command: Any) -> str:
    if isinstance(command, list):
        return shlex.join(str(c) for c in command)
    return str(command or "")


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    env.filters["command_line"] = command_line
    return env


def render_sections(
    runs: Sequence[ReportRun], sections: dict[str, Any], providers: dict[str, str], made: dict[str, ReportSection] | None = None
) -> list[RenderedSection]:
    """Run each applicable section; a failing plugin section becomes a visible error box, not a crash.
    ``made`` holds sections already built with report options (the comparison's baseline)."""
    rendered = []
    for cls in sorted(sections.values(), key=lambda c: (getattr(c, "order", 500), c.name)):
        plugin = providers.get(cls.name, "gan-eval")
        try:
            ready = (made or {}).get(cls.name)
            section: ReportSection = ready if ready is not None and type(ready) is cls else cls()  # a plugin's section of that name is built plainly
            if not section.applies(runs):
                continue
            blocks = list(section.blocks(runs))
            rendered.append(RenderedSection(cls.name, cls.title or cls.name, plugin, blocks))
        except Exception as exc:
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            print(f"gan-eval report: section {cls.name!r} of plugin {plugin!r} failed: {detail}", file=sys.stderr)
            rendered.append(RenderedSection(cls.name, cls.title or cls.name, plugin, error=f"plugin {plugin!r}: section {cls.name!r} failed: {detail}"))
    return rendered


def render_report(runs: Sequence[ReportRun], registry: Any = None, title: str | None = None, baseline: str | None = None, paired: Paired | None = None) -> str:
    """The report's HTML. ``registry`` (a :class:`gan_eval.plugins.Registry`) supplies plugin sections;
    ``baseline`` (a run label; default the first run) is what the comparison table subtracts, and
    ``paired(baseline_run, run)`` gives its paired intervals (``gan_eval.api.compare`` on their files)."""
    sections: dict[str, type] = {cls.name: cls for cls in BUILTIN_SECTIONS}
    providers: dict[str, str] = {}
    if registry is not None:
        for name, cls in registry.report_sections().items():
            sections[name] = cls
            providers[name] = registry.provider("report_sections", name)
    runs = list(runs)
    if runs:
        choose_baseline(runs, baseline)  # an unknown label is the user's error, not a broken section
    made: dict[str, ReportSection] = {ComparisonSection.name: ComparisonSection(baseline, paired)}
    context = {
        "title": title or (f"gan-eval report: {runs[0].label}" if len(runs) == 1 else f"gan-eval report: {len(runs)} runs"),
        "runs": runs,
        "summary": build_summary(runs),
        "fact_titles": FACT_TITLES,
        "trainer_facts": TRAINER_FACTS,
        "text_facts": ("role", "arch", "dataset"),
        "warnings": report_warnings(runs),
        "sections": render_sections(runs, sections, providers, made),
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "version": __version__,
        "references": reference_previews(runs),
    }
    return environment().get_template("report.html.j2").render(**context)


def report_warnings(runs: Sequence[ReportRun]) -> list[tuple[str, str]]:
    """(run label or "all runs", text) for every warning: each record's own and comparability ones."""
    notes = [("all runs", note) for note in comparability_warnings(list(runs))]
    seen = set()
    for run in runs:
        for note in run.record.get("warnings", []):
            key = note if len(runs) > 1 else (run.label, note)
            if key in seen:
                continue
            seen.add(key)
            shared = len(runs) > 1 and all(note in r.record.get("warnings", []) for r in runs)
            notes.append(("all runs" if shared else run.label, note))
    return notes


def reference_previews(runs: Sequence[ReportRun]) -> list[dict[str, Any]]:
    """One sample grid per distinct reference (by fingerprint), with the runs that used it."""
    seen: dict[str, dict[str, Any]] = {}
    for run in runs:
        preview = run.record.get("previews", {}).get("reference")
        ref = run.reference
        if not preview or not ref:
            continue
        key = str(ref.get("fingerprint") or ref.get("spec"))
        entry = seen.setdefault(key, {"spec": ref.get("spec"), "count": ref.get("count"), "preview": preview, "runs": []})
        entry["runs"].append(run.label)
    return list(seen.values())


def write_report(
    path: str | Path, runs: Sequence[ReportRun], registry: Any = None, title: str | None = None, baseline: str | None = None, paired: Paired | None = None
) -> None:
    """Render and write atomically (a reader never sees half a report)."""
    atomic_write_text(path, render_report(runs, registry, title, baseline, paired))
