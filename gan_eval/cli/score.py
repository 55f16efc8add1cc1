"""``gan-eval score`` and ``gan-eval verify``."""

from __future__ import annotations

from typing import Any

import click

from .. import api
from ..plugins import load_registry
from ..command_options import make_config, metric_option, plugin_option, run_options, source_options
from .output import EXIT_CHECK_FAILED, echo_json, echo_warnings, fmt, format_results, machine_view
from ..scoring import DEFAULT_METRICS


@click.command("score")
@click.argument("generated")
@click.option(
    "--ref",
    "reference",
    metavar="REFERENCE",
    help="Reference images (a spec like GENERATED) to compare with, or their precomputed statistics: stats:FILE.npz from 'gan-eval stats' (or a pytorch-fid mu/sigma file, for fid only).",
)
@metric_option(
    f"Metric to compute (repeatable), optionally bound to a feature extractor: -m fid@inception -m fid@dinov2-vitl14. Default: those of {', '.join(DEFAULT_METRICS)} that are installed and apply."
)
@run_options
@source_options
@click.option("--out", type=click.Path(dir_okay=False), help="Write the JSON run record here (atomically; checked to be writable before the run).")
@click.option("--html", type=click.Path(dir_okay=False), help="Also write a self-contained HTML report of this run (see 'gan-eval report').")
@click.option(
    "--save-states",
    is_flag=True,
    help="Also save every metric's states beside the record (RUN.states.npz, checked by SHA-256), so that 'gan-eval compare' can test the difference between two runs.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the whole result as JSON on stdout (results, warnings, inputs, extractor identities; no preview images)."
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@plugin_option
def score_command(
    generated: str, reference: str | None, metrics: tuple[str, ...], out: str | None, html: str | None, save_states: bool, as_json: bool, quiet: bool, **kw: Any
) -> None:
    """Score GENERATED images, optionally against a REFERENCE.

    GENERATED and REFERENCE are source specs: a folder of images, an .npy/.npz array file, a dataset
    (dataset:mnist5k:test, idx:/usr/share/datasets/fashion-mnist:train) or anything a source plugin
    reads. Prefix a spec with its kind (folder:, npz:, dataset: ...) when detection is ambiguous.
    Results go to stdout, warnings and progress to stderr.

    \b
    Examples:
      gan-eval score samples/ --ref dataset:mnist5k:train
      gan-eval score fake.npz --ref real/ -m fid -m kid -O kid.subsets=50 --out run.json
      gan-eval score samples/ --ref real/ -m fid@inception -m fid@dinov2-vitb14 --json
    """
    registry = load_registry(kw["plugin_files"])
    config = make_config(generated, reference, metrics, registry, kw)
    outputs = api.planned_outputs(out=out, html=html, inputs=[generated, reference], save_states=save_states)
    result = api.run_config(registry, config, progress=not quiet, resume_dir=kw["resume_dir"], resume_every=kw["resume_every"])
    if not api.is_primary():  # every rank holds the same results; rank 0 alone prints and writes
        return
    api.write_outputs(outputs, result, registry)
    echo_warnings(result.warnings)
    if as_json:
        echo_json(machine_view(result.record))
        return
    click.echo(format_results(result.record))
    for kind, path in (("record", out), ("report", html)):
        if path:
            click.echo(f"{kind} written to {path}")


@click.command("verify")
@click.argument("record_path", metavar="RECORD", type=click.Path(dir_okay=False))
@click.option("--rtol", type=float, default=1e-6, show_default=True, help="Relative tolerance for each value.")
@click.option("--atol", type=float, default=1e-9, show_default=True, help="Absolute tolerance for each value.")
@click.option(
    "--allow-code",
    is_flag=True,
    help="Allow loading the plugin files and importing the modules (callable: specs) the record names. Off by default: verifying a record from someone else must not run their code.",
)
@click.option("--use-cache", is_flag=True, help="Serve the reference from the statistics cache. Off by default: verify recomputes everything it checks.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def verify_command(record_path: str, rtol: float, atol: float, allow_code: bool, use_cache: bool, as_json: bool, quiet: bool) -> None:
    """Re-run the score recorded in RECORD and check that every value reproduces.

    Checks the record lists a result for every metric its configuration asks for, and each input's
    content fingerprint (a changed input fails at once, named); then recomputes the recorded
    configuration (same inputs, options, seeds), without the reference cache unless --use-cache, and
    compares every value and interval with |recorded - now| <= atol + rtol * |recorded|.
    Exit status 0 when everything reproduces, 1 otherwise.
    """
    verdict = api.verify_record(record_path, rtol=rtol, atol=atol, allow_code=allow_code, use_cache=use_cache, progress=not quiet)
    if as_json:
        echo_json(verdict.as_dict())
    else:
        click.echo("recomputed " + ("with the reference cache" if use_cache else "from the inputs (reference cache not used)"))
        for line in verdict.changed_inputs + verdict.problems:
            click.echo(f"FAIL {line}")
        for check in verdict.checks:
            status = "ok  " if check.ok else "DIFF"
            now_text = "missing" if check.reproduced is None else fmt(check.reproduced)
            click.echo(f"{status} {check.result}.{check.key}: recorded {fmt(check.recorded)}, now {now_text}")
        click.echo("verified: every value reproduces" if verdict.ok else "NOT verified")
    if not verdict.ok:
        raise click.exceptions.Exit(EXIT_CHECK_FAILED)
