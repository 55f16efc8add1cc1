"""How commands print: results on stdout (a table or JSON), warnings on stderr, and exit codes."""

from __future__ import annotations

import json
from typing import Any

import click

from ..errors import InputError, PluginError, UsageError

EXIT_CHECK_FAILED, EXIT_USAGE, EXIT_INPUT, EXIT_PLUGIN, EXIT_ERROR, EXIT_INTERNAL, EXIT_INTERRUPTED = 1, 2, 3, 4, 5, 70, 130


def exit_code_for(exc: BaseException) -> int:
    """The documented exit code of a gan-eval error (docs/cli.md)."""
    if isinstance(exc, UsageError):
        return EXIT_USAGE
    if isinstance(exc, InputError):
        return EXIT_INPUT
    if isinstance(exc, PluginError):
        return EXIT_PLUGIN
    return EXIT_ERROR


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, allow_nan=False))


def echo_warnings(warnings: list[str]) -> None:
    for note in warnings:
        click.echo(f"warning: {note}", err=True)


def machine_view(record: dict[str, Any]) -> dict[str, Any]:
    """What ``--json`` prints: the record without its embedded preview images."""
    return {key: value for key, value in record.items() if key != "previews"}


def fmt(value: float) -> str:
    return f"{value:.6g}"


def format_value(key: str, value: float, interval: dict[str, Any] | None) -> str:
    """``fid=18.78`` or, with an interval, ``fid=18.78 [17.9, 19.6]``."""
    text = f"{key}={fmt(value)}"
    if interval:
        text += f" [{interval['low']:.4g}, {interval['high']:.4g}]"
    return text


def format_results(record: dict[str, Any]) -> str:
    """The human-readable table of a run (warnings are printed separately, on stderr)."""
    lines = []
    for label, info in record["inputs"].items():
        skipped = len(info.get("skipped", []))
        limit = f", limited to {info['limit']}" if info.get("limit") else ""
        lines.append(f"{label}: {info['spec']}  ({info.get('count')} images{limit}" + (f", {skipped} skipped" if skipped else "") + ")")
    for name, ext in (record.get("extractors") or {}).items():
        lines.append(f"extractor: {name}" + ("" if ext.get("standard") else "  (NOT the standard Inception: not comparable with published numbers)"))
    if record.get("config", {}).get("numerics") == "fast":
        lines.append("numerics: fast (TF32/bfloat16; values differ slightly from the exact default, see docs/performance.md)")
    lines.append("")
    width = max((len(r["name"]) for r in record["results"]), default=0)
    for result in record["results"]:
        intervals = result.get("intervals") or {}
        values = "  ".join(format_value(k, v, intervals.get(k)) for k, v in result["values"].items())
        lines.append(f"{result['name']:<{width}}  {values}")
    return "\n".join(lines)
