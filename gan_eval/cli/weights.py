"""``gan-eval weights list`` and ``gan-eval weights fetch NAME``: where each extractor's standard
weights file is looked for, and the one opt-in download. Extractors declare their file with a
``weights_spec`` class attribute, so this works for third-party extractor plugins too."""

from __future__ import annotations

import json

import click

from .. import weights
from ..errors import UsageError
from ..plugins import load_registry


def _specs(plugin_files: tuple[str, ...]) -> dict[str, weights.WeightsSpec]:
    return weights.specs_of(load_registry(plugin_files).extractors())


@click.group("weights")
def weights_command() -> None:
    """Standard weights files (Inception, DINOv2, CLIP, ...): where they are looked for, and fetching them."""


@weights_command.command("list")
@click.option("--plugin", "plugin_files", multiple=True, type=click.Path(exists=True, dir_okay=False), help="Also load this plugin file.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def list_command(plugin_files: tuple[str, ...], as_json: bool) -> None:
    """Every extractor's weights file: each place it is searched, in order, and whether it is there."""
    rows = []
    for name, spec in _specs(plugin_files).items():
        places = weights.search_report(spec)
        rows.append(
            {
                "name": name,
                "title": spec.title,
                "url": spec.url,
                "sha256": spec.sha256,
                "found": next((p["place"] for p in places if p["found"]), None),
                "places": places,
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    for row in rows:
        status = f"found: {row['found']}" if row["found"] else "NOT FOUND"
        digest = row["sha256"] or "none published (recorded when used)"
        click.echo(f"{row['name']}: {row['title']} - {status}")
        click.echo(f"  publisher: {row['url'] or 'unknown'}   SHA-256: {digest}")
        for place in row["places"]:  # type: ignore[attr-defined]
            mark = "found  " if place["found"] else "missing"
            note = f" ({place['note']})" if place["note"] else ""
            click.echo(f"  {mark} {place['place']}{note}   [{place['origin']}]")


@weights_command.command("fetch")
@click.argument("name")
@click.option("--to", "to_dir", type=click.Path(file_okay=False), help="Write into this folder instead of the first cache folder searched.")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds to wait for the server before giving up.")
@click.option("--plugin", "plugin_files", multiple=True, type=click.Path(exists=True, dir_okay=False), help="Also load this plugin file.")
def fetch_command(name: str, to_dir: str | None, timeout: float, plugin_files: tuple[str, ...]) -> None:
    """Download NAME's standard weights file from its publisher (the only command that downloads).

    The SHA-256 is checked where the publisher states one; the file appears complete or not at all,
    in the folder the extractor searches (or --to DIR: then pass -O NAME.weights=PATH when using it).
    """
    specs = _specs(plugin_files)
    if name not in specs:
        known = ", ".join(specs) or "none"
        raise UsageError(f"no extractor named {name!r} declares a weights file (known: {known})")
    spec = specs[name]
    target = to_dir or str(weights.folder_path(spec.folders[0]))
    click.echo(f"fetching {spec.url or spec.title} into {target} ...", err=True)
    result = weights.fetch_weights(spec, to_dir=to_dir, timeout=timeout)
    click.echo(result.describe())
    searched = {weights.folder_path(folder).resolve() for folder in spec.folders}
    if result.path.parent.resolve() not in searched:
        click.echo(f"{name} does not search {result.path.parent}: use -O {name}.weights={result.path}", err=True)
