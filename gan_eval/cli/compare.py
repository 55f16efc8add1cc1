"""``gan-eval compare A.json B.json``: is B really better or worse than A?"""

from __future__ import annotations

import click

from .. import api
from .output import EXIT_CHECK_FAILED, echo_json


@click.command("compare")
@click.argument("record_a", metavar="A", type=click.Path(dir_okay=False))
@click.argument("record_b", metavar="B", type=click.Path(dir_okay=False))
@click.option(
    "--ci", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95, show_default=True, help="Level of the interval on each difference."
)
@click.option("--bootstrap", type=click.IntRange(min=1), default=200, show_default=True, help="Paired bootstrap resamples.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the resampling (the same seed gives the same intervals).")
@click.option("--fail-on-difference", is_flag=True, help="Exit with status 1 when any difference is significant (for CI pipelines).")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.option("--plugin", "plugin_files", multiple=True, type=click.Path(dir_okay=False), help="Load a plugin from a Python file (repeatable).")
def compare_command(
    record_a: str, record_b: str, ci: float, bootstrap: int, seed: int, fail_on_difference: bool, as_json: bool, plugin_files: tuple[str, ...]
) -> None:
    """Paired comparison of two runs scored with --save-states against the same reference.

    For every metric value both runs have, prints B − A with a bootstrap confidence interval and a
    two-sided bootstrap p-value, resampling the generated sets of A and B and the one shared
    reference together. Runs with different extractors, preprocessing, numerics or references are
    not comparable: the command says why and compares nothing.

    \b
    Example:
      gan-eval score teacher/ --ref real/ --out teacher.json --save-states
      gan-eval score student/ --ref real/ --out student.json --save-states
      gan-eval compare teacher.json student.json
    """
    outcome = api.compare(record_a, record_b, resamples=bootstrap, level=ci, seed=seed, plugins=plugin_files)
    if as_json:
        echo_json(outcome)
    elif not outcome["comparable"]:
        click.echo("not comparable:")
        for reason in outcome["reasons"]:
            click.echo(f"  - {reason}")
    else:
        click.echo(f"B − A with {ci:.0%} paired bootstrap intervals (A: {record_a}, B: {record_b})")
        for name, values in outcome["results"].items():
            for key, row in values.items():
                verdict = "significant" if row["significant"] else "not significant"
                click.echo(
                    f"{name}.{key}: A={row['a']:.6g} B={row['b']:.6g} B−A={row['difference']:+.4g} "
                    f"[{row['low']:+.4g}, {row['high']:+.4g}] p={row['p_value']:.3g} ({verdict})"
                )
    significant = any(row["significant"] for values in outcome["results"].values() for row in values.values())
    if fail_on_difference and (significant or not outcome["comparable"]):
        raise click.exceptions.Exit(EXIT_CHECK_FAILED)
