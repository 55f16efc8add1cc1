"""Options shared by the commands that read images (the built-in ones and plugin commands such as
the trainers' sweep-score), and their translation into a ScoreConfig. Public for plugin commands."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import click

from .errors import UsageError
from .params import parse_assignments
from .plugins import Registry
from .scoring import DEFAULT_METRICS, ScoreConfig, default_resamples
from .specs import parse_source_extra
from .api import split_options


def plugin_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--plugin",
        "plugin_files",
        multiple=True,
        type=click.Path(dir_okay=False),
        help="Load a plugin from a Python file (repeatable), in addition to installed plugins.",
    )(f)


def metric_option(help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``-m/--metric NAME[@EXTRACTOR]`` (repeatable, into ``metrics``), with the command's own help."""
    return click.option("-m", "--metric", "metrics", multiple=True, metavar="NAME[@EXTRACTOR]", help=help)


def source_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options that every source understands; shared by the commands that read images."""
    options = [
        click.option(
            "--limit",
            type=click.IntRange(min=1),
            help="Use only the first N generated images (recorded in the record's inputs; the reference is not limited: see --limit-ref).",
        ),
        click.option("--limit-ref", type=click.IntRange(min=1), help="Use only the first N reference images."),
        click.option("--skip-bad", is_flag=True, help="Skip unreadable image files (counted in the record) instead of failing."),
        click.option(
            "--resize", metavar="POLICY", help="Images of different sizes: 'first' (resize to the first image's size) or HxW, e.g. 64x64. Default: error."
        ),
        click.option(
            "--seed",
            type=int,
            default=0,
            show_default=True,
            help="Seed for sampled inputs (generators) and for every sampled metric (IS shuffle, KID subsets, bootstrap) not given -O METRIC.seed.",
        ),
        click.option("--num", "count", type=click.IntRange(min=1), help="Number of images to sample from generator inputs."),
        click.option("--range", "value_range", type=click.Choice(["0,1", "-1,1"]), help="Value range of float arrays (default: inferred, error if ambiguous)."),
        click.option(
            "--source-option",
            "source_extra",
            multiple=True,
            metavar="KEY=VALUE",
            help="Source-specific option (repeatable); a key no source of the run reads is an error listing the valid ones. See docs/sources.md.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


class CountOrAuto(click.ParamType):
    """``--workers`` (a count ≥ 0) or ``--cpu-streams`` (≥ 1), or ``auto``."""

    name = "N|auto"

    def __init__(self, minimum: int = 0):
        self.minimum = minimum

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if value == "auto":
            return value
        try:
            count = int(value)
        except (TypeError, ValueError):
            count = self.minimum - 1
        if count < self.minimum:
            self.fail(f"{value!r} is neither a count ≥ {self.minimum} nor 'auto'", param, ctx)
        return count


def run_options(f: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--extractor",
            default="auto",
            show_default=True,
            help="Feature extractor for metrics named without one (-m fid): a name from 'gan-eval plugins', or auto (standard Inception when its weights are found, else the bundled domain network for 28×28 gray data: mnist-cnn or fashion-cnn; with --ref stats:FILE, the file's extractor). Bind a metric to another with -m METRIC@EXTRACTOR.",
        ),
        click.option(
            "-O",
            "--option",
            "assignments",
            multiple=True,
            metavar="PLUGIN.PARAM=VALUE",
            help="Set a metric's or an extractor's parameter, e.g. -O kid.subsets=50, -O fid@inception.per_class=true, -O inception.weights=FILE (repeatable; 'gan-eval plugins' lists them). An option that applies to nothing in the run is an error.",
        ),
        click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True, help="Images per batch (results do not depend on it)."),
        click.option("--device", default="auto", show_default=True, help="torch device: auto (CUDA when available), cpu, cuda, cuda:1 ..."),
        click.option(
            "--workers",
            type=CountOrAuto(0),
            default="auto",
            show_default=True,
            help="Processes decoding images in parallel with the network: a number (0: decode in the main process) or auto (0 on CPU, where the network needs the cores; up to 4 per GPU).",
        ),
        click.option(
            "--cpu-streams",
            type=CountOrAuto(1),
            default="auto",
            show_default=True,
            help="On a CPU, extractor calls (of its chunk size, 8 images for Inception, DINOv2, CLIP) that run side by side, each single-threaded: auto (torch's thread count, i.e. $OMP_NUM_THREADS or the cores) or a number; 1 runs one call at a time with every thread in each operator. Features then do not depend on the core count (docs/performance.md).",
        ),
        click.option(
            "--fast",
            is_flag=True,
            help="Fast numerics: TF32, cuDNN autotuning, bfloat16 and channels-last for extractors that offer them. Values differ slightly from the default exact float32 mode (docs/performance.md measures how much); the record and cache keys mark the run.",
        ),
        click.option(
            "--ci",
            "ci",
            type=click.FloatRange(0, 1, min_open=True, max_open=True),
            default=0.95,
            show_default=True,
            help="Level of the confidence interval printed and recorded for every value.",
        ),
        click.option(
            "--bootstrap",
            type=click.IntRange(min=0),
            default=None,
            help="Bootstrap resamples for the intervals (0: no intervals; default $GAN_EVAL_BOOTSTRAP or 200). Resampling reuses each metric's stored rows or per-block sums: the network never runs again (docs/intervals.md).",
        ),
        click.option("--no-cache", is_flag=True, help="Do not read or write the reference statistics cache."),
        click.option(
            "--resume-dir",
            type=click.Path(file_okay=False),
            help="Snapshot each pass's state here every --resume-every batches; re-running the same command after an interruption resumes from the last snapshot (deleted on success).",
        ),
        click.option("--resume-every", type=click.IntRange(min=1), default=50, show_default=True, help="Batches between snapshots with --resume-dir."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def make_config(generated: str | None, reference: str | None, metrics: tuple[str, ...], registry: Registry, kw: dict[str, Any]) -> ScoreConfig:
    """The ScoreConfig of a command line (every option recorded, none dropped)."""
    for label, spec in (("GENERATED", generated), ("--ref", reference)):
        if spec is not None and not spec.strip():
            raise UsageError(f"{label}: empty source spec (an unset shell variable?)")
    resize = kw.get("resize")
    if resize is not None and resize != "first" and not re.fullmatch(r"[1-9][0-9]*x[1-9][0-9]*", resize):
        raise UsageError(f"--resize {resize!r} must be 'first' or HxW like 64x64")
    assignments = {f"{owner}.{param}": value for owner, params in parse_assignments(kw["assignments"]).items() for param, value in params.items()}
    metric_params, extractor_params = split_options(registry, assignments)
    return ScoreConfig(
        generated=generated or "",
        reference=reference,
        metrics=list(metrics) or None,
        metric_params=metric_params,
        extractor=kw["extractor"],
        extractor_params=extractor_params,
        batch_size=kw["batch_size"],
        device=kw["device"],
        workers=kw["workers"],
        cpu_streams=kw["cpu_streams"],
        source_options={
            "limit": kw["limit"],
            "skip_bad": kw["skip_bad"],
            "resize": kw["resize"],
            "count": kw["count"],
            "value_range": kw["value_range"],
            "extra": parse_source_extra(kw["source_extra"]),
        },
        reference_options={"limit": kw.get("limit_ref")},
        plugin_files=[str(Path(p)) for p in kw["plugin_files"]],
        use_cache=not kw["no_cache"],
        numerics="fast" if kw.get("fast") else "exact",
        seed=kw["seed"],
        bootstrap=default_resamples() if kw.get("bootstrap") is None else kw["bootstrap"],
        ci=kw.get("ci", 0.95),
    )


__all__ = ["DEFAULT_METRICS", "make_config", "plugin_option", "run_options", "source_options"]
