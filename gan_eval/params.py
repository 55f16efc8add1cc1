"""Declared, typed parameters for plugins (metrics, extractors), settable from the command line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .errors import UsageError


@dataclass(frozen=True)
class Param:
    """One parameter: its default fixes its type; ``help`` is shown by ``gan-eval plugins``."""

    default: Any
    help: str = ""


def resolve_params(owner: str, declared: Mapping[str, Param], given: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults overlaid with ``given``; strings are converted to the default's type.

    Unknown names are an error listing the known ones, so a typo never silently runs the default.
    """
    unknown = sorted(set(given) - set(declared))
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise UsageError(f"{owner}: unknown parameter(s) {', '.join(unknown)} (known: {known})")
    values = {name: param.default for name, param in declared.items()}
    for name, raw in given.items():
        values[name] = _convert(owner, name, declared[name].default, raw)
    return values


def _convert(owner: str, name: str, default: Any, raw: Any) -> Any:
    if not isinstance(raw, str) or isinstance(default, str) or default is None:
        return raw
    try:
        if isinstance(default, bool):
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        return type(default)(raw)
    except ValueError:
        raise UsageError(f"{owner}: parameter {name}={raw!r} is not a valid {type(default).__name__}") from None


def parse_assignments(items: list[str] | tuple[str, ...]) -> dict[str, dict[str, str]]:
    """Parse ``plugin.param=value`` strings (``-O fid.foo=1``) into ``{plugin: {param: value}}``."""
    parsed: dict[str, dict[str, str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        owner, dot, name = key.partition(".")
        if not sep or not dot or not owner or not name:
            raise UsageError(f"option {item!r} must look like PLUGIN.PARAM=VALUE, e.g. kid.subsets=50")
        parsed.setdefault(owner.strip(), {})[name.strip()] = value
    return parsed
