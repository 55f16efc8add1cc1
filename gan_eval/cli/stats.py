"""``gan-eval stats``: compute a reference's statistics once and write them to a ``.npz`` file."""

from __future__ import annotations

from typing import Any

import click

from .. import api
from ..plugins import load_registry
from ..command_options import make_config, metric_option, plugin_option, run_options, source_options
from .output import echo_json, echo_warnings


@click.command("stats")
@click.argument("reference")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), help="The .npz stats file to write (atomically).")
@metric_option("Metric whose reference state to store (repeatable; bound ones too, e.g. fid@mnist-cnn). Default: those of fid, is, kid, pr that are installed.")
@run_options
@source_options
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@plugin_option
def stats_command(reference: str, out: str, metrics: tuple[str, ...], as_json: bool, quiet: bool, **kw: Any) -> None:
    """Compute REFERENCE's statistics once and write them to OUT, for 'score --ref stats:OUT'.

    The file holds every selected metric's reference state, the source's fingerprint and each
    extractor's identity (so a run with another extractor is refused), and, when fid is selected,
    pytorch-fid's 'mu' and 'sigma' arrays: pytorch-fid can read it, and a pytorch-fid stats file
    works with 'score --ref stats:FILE' for FID. It runs through the same path as 'score' (numerics,
    --fast, --resume-dir, the reference cache unless --no-cache). --limit limits the reference here.

    \b
    Examples:
      gan-eval stats dataset:mnist5k:train -o mnist-train.npz -m fid -m kid
      gan-eval score samples/ --ref stats:mnist-train.npz -m fid -m kid
    """
    registry = load_registry(kw["plugin_files"])
    kw = {**kw, "limit_ref": kw.get("limit_ref") or kw.get("limit"), "limit": None}
    config = make_config(None, reference, metrics, registry, kw)
    api.planned_outputs(out=out, inputs=[reference])
    written = api.reference_statistics(
        reference, out, config=config, registry=registry, progress=not quiet, resume_dir=kw["resume_dir"], resume_every=kw["resume_every"]
    )
    echo_warnings(written["warnings"])
    if as_json:
        echo_json(written)
        return
    source = written["source"]
    extractors = written["extractors"]
    click.echo(
        f"{out}: reference statistics of {source['spec']} ({source['count']} images) for {', '.join(written['metrics'])}"
        + (f" with extractor {', '.join(extractors)}" if extractors else "")
    )
