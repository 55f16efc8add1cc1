"""The ``gan-eval`` command line. Commands from plugins (``register_commands``) are added lazily."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from . import __version__, distributed
from .cli_report import report_command, write_html_for_record
from .errors import GanEvalError
from .params import parse_assignments
from .plugins import Registry, load_registry
from .record import build_record, now, write_record
from .scoring import ScoreConfig, score
from .specs import parse_source_extra

DEFAULT_METRICS = ("fid", "is", "kid", "laplacian")


class GanEvalGroup(click.Group):
    """Built-in commands plus those plugins register; errors become one clear line, not a traceback."""

    def _plugin_commands(self) -> dict[str, click.Command]:
        if not hasattr(self, "_plugin_cache"):
            try:
                self._plugin_cache = load_registry().commands()
            except GanEvalError:
                self._plugin_cache = {}  # reported when a command that needs plugins runs
        return self._plugin_cache

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._plugin_commands()))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, name) or self._plugin_commands().get(name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GanEvalError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=GanEvalGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="gan-eval")
def main() -> None:
    """Score generative image models: IS, FID, KID, variance of Laplacian and any metric a plugin adds.

    Start with 'gan-eval score --help' and 'gan-eval plugins'. Documentation: docs/ in the repository.
    """


def plugin_option(f):
    return click.option(
        "--plugin", "plugin_files", multiple=True, type=click.Path(dir_okay=False),
        help="Load a plugin from a Python file (repeatable), in addition to installed plugins.",
    )(f)


@main.command("plugins")
@plugin_option
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def plugins_command(plugin_files: tuple[str, ...], as_json: bool) -> None:
    """List every plugin: name, origin (built-in, entry point, file), version and what it provides."""
    registry = load_registry(plugin_files)
    infos = [p.as_dict() for p in registry.plugins.values()]
    if as_json:
        click.echo(json.dumps(infos, indent=2))
        return
    for info in infos:
        click.echo(f"{info['name']}  [{info['origin']}, version {info['version'] or '?'}]  {info['location']}")
        for hook, names in info["provides"].items():
            table = getattr(registry, hook)()
            for name in names:
                summary = getattr(table[name], "summary", "") or (getattr(table[name], "help", "") or "").split("\n")[0]
                click.echo(f"    {hook[:-1] if hook.endswith('s') else hook}: {name}" + (f" - {summary}" if summary else ""))


def source_options(f):
    """Options that every source understands; shared by the commands that read images."""
    options = [
        click.option("--limit", type=click.IntRange(min=1), help="Use only the first N images of each input."),
        click.option("--skip-bad", is_flag=True, help="Skip unreadable image files (counted in the record) instead of failing."),
        click.option("--resize", metavar="POLICY", help="Images of different sizes: 'first' (resize to the first image's size) or HxW, e.g. 64x64. Default: error."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed for sampled inputs (generators) and seeded metrics."),
        click.option("--num", "count", type=click.IntRange(min=1), help="Number of images to sample from generator inputs."),
        click.option("--range", "value_range", type=click.Choice(["0,1", "-1,1"]), help="Value range of float arrays (default: inferred, error if ambiguous)."),
        click.option("--source-option", "source_extra", multiple=True, metavar="KEY=VALUE", help="Source-specific option (repeatable); see docs/sources.md."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


class WorkerCount(click.ParamType):
    """``--workers``: a count ≥ 0 or ``auto``."""

    name = "N|auto"

    def convert(self, value, param, ctx):
        if value == "auto" or isinstance(value, int):
            return value
        try:
            count = int(value)
        except ValueError:
            count = -1
        if count < 0:
            self.fail(f"{value!r} is neither a count ≥ 0 nor 'auto'", param, ctx)
        return count


WORKERS = WorkerCount()


def run_options(f):
    options = [
        click.option("--extractor", default="auto", show_default=True, help="Feature extractor for FID/IS/KID/PR: a name from 'gan-eval plugins', or auto (standard Inception when its weights are found, else the bundled domain network for 28×28 gray data: mnist-cnn or fashion-cnn, chosen by the stated dataset or a data test; see docs/extractors/domain.md)."),
        click.option("-O", "--option", "assignments", multiple=True, metavar="PLUGIN.PARAM=VALUE", help="Set a metric's or the extractor's parameter, e.g. -O kid.subsets=50 (repeatable; 'gan-eval plugins' lists them)."),
        click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True, help="Images per batch (results do not depend on it)."),
        click.option("--device", default="auto", show_default=True, help="torch device: auto (CUDA when available), cpu, cuda, cuda:1 ..."),
        click.option("--workers", type=WORKERS, default="auto", show_default=True, help="Processes decoding images in parallel with the network: a number (0: decode in the main process) or auto (0 on CPU, where the network needs the cores; up to 4 per GPU)."),
        click.option("--fast", is_flag=True, help="Fast numerics: TF32, cuDNN autotuning, and bfloat16 autocast + channels-last for extractors that offer them. Values differ slightly from the default exact float32 mode (docs/performance.md measures how much); the record and cache keys mark the run."),
        click.option("--no-cache", is_flag=True, help="Do not read or write the reference statistics cache."),
        click.option("--resume-dir", type=click.Path(file_okay=False), help="Snapshot each pass's state here every --resume-every batches; re-running the same command after an interruption resumes from the last snapshot (deleted on success)."),
        click.option("--resume-every", type=click.IntRange(min=1), default=50, show_default=True, help="Batches between snapshots with --resume-dir."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def make_config(generated: str, reference: str | None, metrics: tuple[str, ...], registry: Registry, kw: dict[str, Any]) -> ScoreConfig:
    chosen = list(metrics) or default_metrics(registry, reference is not None)
    params = parse_assignments(kw["assignments"])
    extractor_name = kw["extractor"]
    extractor_params = {}
    for owner in list(params):
        if owner not in chosen and (owner == extractor_name or owner in registry.extractors()):
            extractor_params = params.pop(owner)
    return ScoreConfig(
        generated=generated, reference=reference, metrics=chosen, metric_params=params,
        extractor=extractor_name, extractor_params=extractor_params,
        batch_size=kw["batch_size"], device=kw["device"], workers=kw["workers"],
        source_options={
            "limit": kw["limit"], "skip_bad": kw["skip_bad"], "resize": kw["resize"], "seed": kw["seed"],
            "count": kw["count"], "value_range": kw["value_range"], "extra": parse_source_extra(kw["source_extra"]),
        },
        plugin_files=[str(Path(p)) for p in kw["plugin_files"]],
        use_cache=not kw["no_cache"],
        numerics="fast" if kw.get("fast") else "exact",
    )


def default_metrics(registry: Registry, has_reference: bool) -> list[str]:
    available = registry.metrics()
    return [
        name for name in DEFAULT_METRICS
        if name in available and (has_reference or available[name].reference != "required")
    ]


def progress_bars(quiet: bool):
    if quiet:
        return None
    from tqdm import tqdm

    def factory(label: str, total: int):
        bar = tqdm(total=total, desc=label[-40:], unit="img", file=sys.stderr, leave=False, dynamic_ncols=True)
        return bar.update

    return factory


@main.command("score")
@click.argument("generated")
@click.option("--ref", "reference", metavar="REFERENCE", help="Reference images (a spec like GENERATED) to compare with, or their precomputed statistics: stats:FILE.npz from 'gan-eval stats' (or a pytorch-fid mu/sigma file, for fid only).")
@click.option("-m", "--metric", "metrics", multiple=True, metavar="NAME", help=f"Metric to compute (repeatable). Default: those of {', '.join(DEFAULT_METRICS)} that are installed and apply.")
@run_options
@source_options
@click.option("--out", type=click.Path(dir_okay=False), help="Write the JSON run record here (atomically).")
@click.option("--html", type=click.Path(dir_okay=False), help="Also write a self-contained HTML report of this run (see 'gan-eval report').")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON instead of a table.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@plugin_option
def score_command(generated: str, reference: str | None, metrics: tuple[str, ...], out: str | None, as_json: bool, quiet: bool, **kw: Any) -> None:
    """Score GENERATED images, optionally against a REFERENCE.

    GENERATED and REFERENCE are source specs: a folder of images, an .npy/.npz array file, a dataset
    (dataset:mnist5k:test, idx:/usr/share/datasets/fashion-mnist:train) or anything a source plugin
    reads. Prefix a spec with its kind (folder:, npz:, dataset: ...) when detection is ambiguous.

    \b
    Examples:
      gan-eval score samples/ --ref dataset:mnist5k:train
      gan-eval score fake.npz --ref real/ -m fid -m kid -O kid.subsets=50 --out run.json
    """
    registry = load_registry(kw["plugin_files"])
    config = make_config(generated, reference, metrics, registry, kw)
    with distributed.session_if_requested(config.device) as session:  # under torchrun: this rank's share
        primary = session is None or session.world.primary
        record = run_score(registry, config, quiet=quiet or not primary, session=session, resume_dir=kw["resume_dir"], resume_every=kw["resume_every"])
    if not primary:  # every rank holds the same results; rank 0 alone prints and writes
        return
    if out:
        write_record(out, record)
    if kw["html"]:
        write_html_for_record(kw["html"], record, registry, out)
    click.echo(json.dumps(record["results"], indent=2) if as_json else format_results(record))
    if out and not as_json:
        click.echo(f"record written to {out}")
    if kw["html"] and not as_json:
        click.echo(f"report written to {kw['html']}")


def run_score(
    registry: Registry, config: ScoreConfig, *, quiet: bool = True, session: "distributed.Session | None" = None, **score_options: Any
) -> dict[str, Any]:
    """Score and build the record (shared by ``score`` and ``verify``); ``session``: a torchrun job."""
    started = now()
    if session is not None:
        score_options = session.score_options(score_options)
    outcome = score(registry, config, progress_factory=progress_bars(quiet), **score_options)
    return build_record(
        config=config.as_dict(), outcome=outcome, started=started,
        plugins=[p.as_dict() for p in registry.plugins.values()],
        extra=session.record_extra() if session is not None else None,
    )


@main.command("verify")
@click.argument("record_path", metavar="RECORD", type=click.Path(dir_okay=False))
@click.option("--rtol", type=float, default=1e-6, show_default=True, help="Relative tolerance for each value.")
@click.option("--atol", type=float, default=1e-9, show_default=True, help="Absolute tolerance for each value.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def verify_command(record_path: str, rtol: float, atol: float, quiet: bool) -> None:
    """Re-run the score recorded in RECORD and check that every value reproduces.

    Checks each input's content fingerprint first (a changed input fails at once, named); then re-runs
    the recorded configuration (same inputs, options, seeds, plugins) and compares every value with
    |recorded - now| <= atol + rtol * |recorded|. Exit status 0 when everything reproduces, 1 otherwise.
    """
    from .record import read_record
    from .verify import verify

    record = read_record(record_path)
    registry = load_registry(record["config"].get("plugin_files", []))
    verdict = verify(registry, record, lambda config: run_score(registry, config, quiet=quiet), rtol, atol)
    for line in verdict.changed_inputs + verdict.problems:
        click.echo(f"FAIL {line}")
    for check in verdict.checks:
        status = "ok  " if check.ok else "DIFF"
        now_text = "missing" if check.reproduced is None else _fmt(check.reproduced)
        click.echo(f"{status} {check.result}.{check.key}: recorded {_fmt(check.recorded)}, now {now_text}")
    click.echo("verified: every value reproduces" if verdict.ok else "NOT verified")
    if not verdict.ok:
        raise SystemExit(1)


def format_results(record: dict[str, Any]) -> str:
    lines = []
    for label, info in record["inputs"].items():
        skipped = len(info.get("skipped", []))
        lines.append(f"{label}: {info['spec']}  ({info.get('count')} images" + (f", {skipped} skipped" if skipped else "") + ")")
    if record.get("extractor"):
        ext = record["extractor"]
        lines.append(f"extractor: {ext['extractor']}" + ("" if ext.get("standard") else "  (NOT the standard Inception: not comparable with published numbers)"))
    if record.get("config", {}).get("numerics") == "fast":
        lines.append("numerics: fast (TF32/bfloat16; values differ slightly from the exact default, see docs/performance.md)")
    lines.append("")
    width = max(len(r["name"]) for r in record["results"])
    for result in record["results"]:
        values = "  ".join(f"{k}={_fmt(v)}" for k, v in result["values"].items())
        lines.append(f"{result['name']:<{width}}  {values}")
    for note in record["warnings"]:
        lines.append(f"warning: {note}")
    return "\n".join(lines)


def _fmt(value: float) -> str:
    return f"{value:.6g}"


main.add_command(report_command)
from .cli_stats import stats_command  # noqa: E402 (it reuses the option decorators above)
main.add_command(stats_command)

if __name__ == "__main__":  # pragma: no cover
    main()
