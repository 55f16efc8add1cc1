"""``gan-eval sweep-score``: score every checkpoint of a sweep manifest (or a folder of checkpoints),
write one run record per checkpoint, and link the records from the manifest for ``gan-eval report``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import click

from gan_eval.api import run_config
from gan_eval.command_options import make_config, metric_option, plugin_option, run_options, source_options
from gan_eval.errors import InputError
from gan_eval.paths import safe_child
from gan_eval.plugins import Registry, load_registry
from gan_eval.record import read_record, write_record

from .manifest import manifest_for_folder, read_manifest, write_manifest


def score_manifest(
    registry: Registry,
    manifest_path: Path,
    manifest: dict[str, Any],
    make: Callable[[str], Any],
    *,
    records_dir: Path,
    quiet: bool = True,
    rescore: bool = False,
    echo: Callable[[str], None] = lambda line: None,
) -> list[dict[str, Any]]:
    """Score each entry's checkpoint with the config ``make(spec)`` builds; returns the records in order.

    A record already linked from the manifest is reused when it was made with the same config from
    the same checkpoint file (same SHA-256), unless ``rescore``.
    """
    from .checkpoint import file_sha256

    records = []
    for entry in manifest["runs"]:
        checkpoint = (manifest_path.parent / entry["checkpoint"]).resolve()
        if not checkpoint.is_file():
            raise InputError(manifest_path, f"lists {entry['checkpoint']}, which does not exist")
        config = make(f"ckpt:{checkpoint}")
        record_file = safe_child(records_dir, f"{entry['label']}.json", manifest_path)  # a label never leaves records_dir
        if not rescore and entry.get("record") and _reusable(manifest_path.parent / entry["record"], config.as_dict(), file_sha256(checkpoint)):
            record = read_record(manifest_path.parent / entry["record"])
            echo(f"{entry['label']}: already scored ({entry['record']}), kept")
        else:
            record = run_config(registry, config, progress=not quiet).record
            write_record(record_file, record)
            entry["record"] = os.path.relpath(record_file.resolve(), manifest_path.parent.resolve())
            write_manifest(manifest_path, manifest)
            echo(f"{entry['label']}: " + "  ".join(f"{r['name']}={_primary(r):.4g}" for r in record["results"]))
        records.append(record)
    return records


def _reusable(record_path: Path, config: dict[str, Any], sha256: str) -> bool:
    try:
        record = read_record(record_path)
    except InputError:
        return False
    return record.get("config") == config and record["inputs"]["generated"].get("checkpoint_sha256") == sha256


def _primary(result: dict[str, Any]) -> float:
    values = result["values"]
    return float(values.get(result.get("primary"), next(iter(values.values()))))


def summary_table(manifest: dict[str, Any], records: list[dict[str, Any]]) -> str:
    """A plain-text table: one row per checkpoint, trainer facts then each metric's primary value."""
    metrics = [r["name"] for r in records[0]["results"]] if records else []
    header = ["run", "role", "d", "params", "ratio", *metrics]
    rows = [header]
    for entry, record in zip(manifest["runs"], records):
        values = {r["name"]: _primary(r) for r in record["results"]}
        ratio = entry.get("compression_ratio")
        rows.append(
            [
                entry["label"],
                str(entry.get("role")),
                str(entry.get("d")),
                f"{entry.get('parameters', 0):,}",
                f"{ratio:.2f}" if ratio else "-",
                *(f"{values[m]:.4g}" if m in values else "-" for m in metrics),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) for row in rows)


@click.command("sweep-score")
@click.argument("manifest", metavar="MANIFEST")
@click.option("--ref", "reference", required=True, metavar="REFERENCE", help="Reference images to compare every checkpoint with, e.g. dataset:mnist5k:test.")
@metric_option("Metric to compute (repeatable), optionally bound to a feature extractor. Default: the same as 'gan-eval score'.")
@run_options
@source_options
@click.option("--records", "records_dir", type=click.Path(file_okay=False), help="Folder for the run records (default: records/ beside the manifest).")
@click.option("--rescore", is_flag=True, help="Score again even when a matching record exists.")
@click.option("--html", type=click.Path(dir_okay=False), help="Also write the HTML report comparing every checkpoint.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@plugin_option
def sweep_score_command(
    manifest: str, reference: str, metrics: tuple[str, ...], records_dir: str | None, rescore: bool, html: str | None, quiet: bool, **kw: Any
) -> None:
    """Score every checkpoint of a sweep: MANIFEST is a sweep.json from 'gan-eval train sweep' or a
    folder of checkpoints (a sweep.json is then written into it).

    Each checkpoint is sampled with --num images (default 1000) from the seeded latent stream of
    --seed and scored against REFERENCE; its run record goes to records/LABEL.json and is linked from
    the manifest's "record" field, so 'gan-eval report MANIFEST -o report.html' compares them all.

    \b
    Example:
      gan-eval sweep-score runs/students/sweep.json --ref dataset:mnist5k:test --num 1000 --html students.html
    """
    path = Path(manifest)
    if path.is_dir():
        path, data = manifest_for_folder(path)
        write_manifest(path, data)
    else:
        data = read_manifest(path)
    if kw["count"] is None:
        kw["count"] = 1000
    registry = load_registry(kw["plugin_files"])
    records = score_manifest(
        registry,
        path,
        data,
        lambda spec: make_config(spec, reference, metrics, registry, kw),
        records_dir=Path(records_dir) if records_dir else path.parent / "records",
        quiet=quiet,
        rescore=rescore,
        echo=click.echo,
    )
    click.echo(summary_table(data, records))
    click.echo(f"records linked from {path}")
    if html:
        write_html(html, path, registry)
        click.echo(f"report written to {html}")


def write_html(html: str | Path, manifest_path: Path, registry: Registry) -> None:
    from gan_eval.report import load_runs, write_report

    write_report(html, load_runs([manifest_path]), registry)
