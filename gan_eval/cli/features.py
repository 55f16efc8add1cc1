"""``gan-eval features SPEC -o feats.npz``: export an extractor's outputs for every image of a source."""

from __future__ import annotations

from typing import Any

import click

from .. import api
from ..command_options import plugin_option
from ..params import parse_assignments
from ..plugins import load_registry


@click.command("features")
@click.argument("spec")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), help="The .npz feature file to write (atomically).")
@click.option("--extractor", default="auto", show_default=True, help="Feature extractor: a name from 'gan-eval plugins', or auto.")
@click.option("-O", "--option", "assignments", multiple=True, metavar="EXTRACTOR.PARAM=VALUE", help="Set an extractor parameter (repeatable).")
@click.option("--limit", type=click.IntRange(min=1), help="Use only the first N images.")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True, help="Images per batch.")
@click.option("--device", default="auto", show_default=True, help="torch device: auto, cpu, cuda ...")
@click.option("--fast", is_flag=True, help="Fast numerics (the file's extractor identity records it).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@plugin_option
def features_command(
    spec: str,
    out: str,
    extractor: str,
    assignments: tuple[str, ...],
    limit: int | None,
    batch_size: int,
    device: str,
    fast: bool,
    quiet: bool,
    plugin_files: tuple[str, ...],
) -> None:
    """Write the features (and logits, labels) of every image of SPEC to OUT.

    OUT is an .npz with 'features' (N×D float32), 'logits' when the extractor gives them, 'labels'
    when the source knows them, and a JSON header with the extractor's identity and the source's
    fingerprint: numpy reads it, and 'gan-eval score features:OUT --ref ...' scores it again without
    running the network.

    \b
    Example:
      gan-eval features dataset:mnist5k:test -o test-feats.npz --extractor mnist-cnn
      gan-eval score features:test-feats.npz --ref dataset:mnist5k:train -m fid
    """
    registry = load_registry(plugin_files)
    options: dict[str, Any] = {f"{o}.{p}": v for o, params in parse_assignments(assignments).items() for p, v in params.items()}
    written = api.features(
        spec, out, extractor=extractor, options=options, device=device, batch_size=batch_size, limit=limit, fast=fast, progress=not quiet, registry=registry
    )
    shape = written["outputs"]["features"].shape
    click.echo(
        f"{out}: {shape[0]} × {shape[1]} features of {written['source']['spec']} from {written['extractor']['extractor']}"
        + (" (with logits)" if "logits" in written["outputs"] else "")
        + (" (with labels)" if written["labels"] is not None else "")
    )
