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
    count = api.write_report(records, output, title=title, plugins=plugin_files)
    click.echo(f"report on {count} run{'s' if count != 1 else ''} written to {Path(output)}")
