"""``gan-eval plugins``: what is installed, where it came from, and every -O parameter."""

from __future__ import annotations

import click

from .. import api
from ..command_options import plugin_option
from .output import echo_json


@click.command("plugins")
@plugin_option
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def plugins_command(plugin_files: tuple[str, ...], as_json: bool) -> None:
    """List every plugin: name, origin (built-in, entry point, file), version, what it provides, and
    each metric's and extractor's -O parameters with their type, default and meaning."""
    infos = api.describe_plugins(plugin_files)
    if as_json:
        echo_json(infos)
        return
    for info in infos:
        click.echo(f"{info['name']}  [{info['origin']}, version {info['version'] or '?'}]  {info['location']}")
        for item in info["items"]:
            click.echo(f"    {item['kind']}: {item['name']}" + (f" - {item['summary']}" if item["summary"] else ""))
            for param in item.get("params", []):
                click.echo(
                    f"        -O {item['name']}.{param['name']}=<{param['type']}>  (default {param['default']!r})"
                    + (f"  {param['help']}" if param["help"] else "")
                )
