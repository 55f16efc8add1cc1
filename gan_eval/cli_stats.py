"""``gan-eval stats``: compute a reference's statistics once and write them to a ``.npz`` file."""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from .cache import ReferenceCache, cached_reference_pass
from .cli import DEFAULT_METRICS, make_config, plugin_option, progress_bars, run_options, source_options
from .engine import run_pass
from .errors import GanEvalError, UsageError
from .plugins import load_registry
from . import scoring
from .extractor import SourceInfo
from .scoring import build_metrics, resolve_device, select_extractor
from .specs import open_source
from .stats_files import write_stats


@click.command("stats")
@click.argument("reference")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), help="The .npz stats file to write (atomically).")
@click.option("-m", "--metric", "metrics", multiple=True, metavar="NAME", help="Metric whose reference state to store (repeatable). Default: those of " + ", ".join(DEFAULT_METRICS) + " that are installed and use a reference.")
@run_options
@source_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@plugin_option
def stats_command(reference: str, out: str, metrics: tuple[str, ...], quiet: bool, **kw: Any) -> None:
    """Compute REFERENCE's statistics once and write them to OUT, for 'score --ref stats:OUT'.

    The file holds every selected metric's reference state, the source's fingerprint and the
    extractor's identity (so a run with another extractor is refused), and, when fid is selected,
    pytorch-fid's 'mu' and 'sigma' arrays: pytorch-fid can read it, and a pytorch-fid stats file
    works with 'score --ref stats:FILE' for FID. The reference cache is used unless --no-cache.

    \b
    Examples:
      gan-eval stats dataset:mnist5k:train -o mnist-train.npz -m fid -m kid
      gan-eval score samples/ --ref stats:mnist-train.npz -m fid -m kid
    """
    registry = load_registry(kw["plugin_files"])
    chosen = list(metrics) or [
        name for name in DEFAULT_METRICS if name in registry.metrics() and registry.metrics()[name].reference != "unused"
    ]
    config = make_config(reference, None, tuple(chosen), registry, kw)
    built = build_metrics(registry, config)
    unused = [m.name for m in built if not m.uses_reference()]
    if unused:
        raise UsageError(f"metric(s) {', '.join(unused)} never use a reference: nothing to store for them")
    device = resolve_device(config.device)
    source = open_source(registry, reference, config.options())
    extractor = None
    if any(m.requires & {"features", "logits"} for m in built):
        selection_info = getattr(scoring, "selection_info", lambda src, ref: SourceInfo(src.info()))  # samples, when available
        extractor = select_extractor(registry, config.extractor, config.extractor_params, selection_info(source, None), device)
    notes: list[str] = []
    plugin_of = {m.name: registry.provider("metrics", m.name) for m in built}
    tick_factory = progress_bars(quiet)

    def run(src, subset):
        tick = tick_factory(src.spec, len(src)) if tick_factory else None
        return run_pass(src, subset, extractor, batch_size=config.batch_size, device=device, workers=config.workers, progress=tick, plugin_of=plugin_of)

    if config.use_cache:
        result = cached_reference_pass(extractor, ReferenceCache(note=notes.append))(source, built, run)
    else:
        result = run(source, built)
    if result.count == 0:
        raise GanEvalError(f"{source.spec}: no images could be read ({len(result.skipped)} skipped)")
    record = {
        "spec": source.spec, "fingerprint": source.fingerprint(), "count": result.count,
        "skipped": [dataclasses.asdict(s) for s in result.skipped], "info": source.info(),
    }
    write_stats(out, result.states, built, source=record, extractor=extractor.identity() if extractor else None)
    click.echo(f"{out}: reference statistics of {source.spec} ({result.count} images) for {', '.join(m.name for m in built)}"
               + (f" with extractor {extractor.name}" if extractor else ""))
    for note in notes:
        click.echo(f"warning: {note}")
