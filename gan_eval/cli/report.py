"""``gan-eval report``: run records → one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path

import click

from .. import api


@click.command("report")
@click.argument("records", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "--out", "output", required=True, type=click.Path(dir_okay=False), help="The HTML file to write (atomically).")
@click.option("--title", help="Title of the report (default: from the runs).")
@click.option(
    "--plugin",
    "plugin_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Load a plugin from a Python file (repeatable), e.g. one that adds a report section.",
)
@click.option(
    "--baseline",
    metavar="LABEL",
    help="The run the comparison table subtracts from every other run over the same reference (a label as the summary table shows it; default: the first run).",
)
def report_command(records: tuple[str, ...], output: str, title: str | None, plugin_files: tuple[str, ...], baseline: str | None) -> None:
    """Compare run records side by side in one self-contained HTML file.

    RECORDS are run records written by 'gan-eval score --out RUN.json', or sweep manifests: JSON files
    whose "runs" list holds record paths relative to the manifest (or objects with "record" and an
    optional "label"). The report holds a summary table with the best value per metric marked (only
    when its interval overlaps no other run's), each run's difference to a baseline run (paired
    intervals for records saved with --save-states), sample grids, plots with error bars, FID-against-N
    and training curves when the records carry them, sections from plugins, warnings and a
    reproducibility block; it needs no network and opens from disk. See docs/report.md.

    \b
    Examples:
      gan-eval report teacher.json student.json scratch.json -o report.html
      gan-eval report sweep/sweep.json -o sweep.html
      gan-eval report teacher.json student-d8.json --baseline teacher -o report.html
    """
    count = api.write_report(records, output, title=title, plugins=plugin_files, baseline=baseline)
    click.echo(f"report on {count} run{'s' if count != 1 else ''} written to {Path(output)}")
