"""``gan-eval report`` and the ``--html`` of ``gan-eval score``: run records → one HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .plugins import Registry, load_registry


def write_html_for_record(path: str, record: dict[str, Any], registry: Registry, record_path: str | None) -> None:
    """The one-run report of ``gan-eval score --html``."""
    from .report import ReportRun, write_report

    label = str(record.get("inputs", {}).get("generated", {}).get("spec", "run"))
    write_report(path, [ReportRun(label, record, record_path or "(record not saved: pass --out to keep it)")], registry)


@click.command("report")
@click.argument("records", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--out", "output", required=True, type=click.Path(dir_okay=False), help="The HTML file to write (atomically).")
@click.option("--title", help="Title of the report (default: from the runs).")
@click.option("--plugin", "plugin_files", multiple=True, type=click.Path(dir_okay=False),
              help="Load a plugin from a Python file (repeatable), e.g. one that adds a report section.")
def report_command(records: tuple[str, ...], output: str, title: str | None, plugin_files: tuple[str, ...]) -> None:
    """Compare run records side by side in one self-contained HTML file.

    RECORDS are run records written by 'gan-eval score --out RUN.json', or sweep manifests: JSON files
    whose "runs" list holds record paths relative to the manifest (or objects with "record" and an
    optional "label"). The report holds a summary table with the best value per metric marked, sample
    grids, plots, sections from plugins, warnings and a reproducibility block; it needs no network and
    opens from disk. See docs/report.md.

    \b
    Examples:
      gan-eval report teacher.json student.json scratch.json -o report.html
      gan-eval report sweep/sweep.json -o sweep.html
    """
    from .report import load_runs, write_report

    runs = load_runs(records)
    registry = load_registry(plugin_files)
    write_report(output, runs, registry, title)
    click.echo(f"report on {len(runs)} run{'s' if len(runs) != 1 else ''} written to {Path(output)}")
