"""Turn a spec string (``folder:imgs/``, ``dataset:mnist5k:test``, or just ``imgs/``) into a source."""

from __future__ import annotations

from .errors import GanEvalError, InputError, PluginError, UsageError
from .plugins import Registry
from .source import Source, SourceOptions


def split_spec(spec: str, kinds: set[str]) -> tuple[str | None, str]:
    """``(kind, target)`` when the spec starts with a known ``kind:``, else ``(None, spec)``."""
    head, sep, rest = spec.partition(":")
    if sep and head in kinds:
        return head, rest
    return None, spec


def open_source(registry: Registry, spec: str, options: SourceOptions) -> Source:
    """Instantiate the source plugin a spec names or, without a prefix, the one that detects it."""
    sources = registry.sources()
    kind, target = split_spec(spec, set(sources))
    if kind is None:
        candidates = sorted(sources.values(), key=lambda c: -c.priority)
        matches = [c for c in candidates if _safe_detect(registry, c, target)]
        if not matches:
            kinds = ", ".join(f"{k}:" for k in sorted(sources))
            raise InputError(spec, f"not recognised as any source (no such file or folder?). Name the kind explicitly with one of: {kinds}")
        kind = matches[0].kind
    cls = sources[kind]
    try:
        return cls(target, options)
    except GanEvalError:
        raise
    except (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError) as exc:
        raise InputError(spec, f"{type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        raise PluginError(registry.provider("sources", kind), f"source {kind!r} failed to open {target!r}: {type(exc).__name__}: {exc}") from exc


def validate_source_options(sources: list[Source], extra: dict[str, str]) -> None:
    """Every ``--source-option`` key must be read by at least one of the run's sources."""
    accepted: dict[str, str] = {}
    for source in sources:
        accepted.update(source.extra_options)
    unknown = sorted(set(extra) - set(accepted))
    if unknown:
        kinds = ", ".join(sorted({f"{s.kind}:" for s in sources}))
        valid = ", ".join(f"{k} ({v})" for k, v in sorted(accepted.items())) or "none"
        raise UsageError(f"--source-option {', '.join(unknown)}: not read by the sources of this run ({kinds}); valid keys: {valid}")


def _safe_detect(registry: Registry, cls: type[Source], target: str) -> bool:
    try:
        return bool(cls.detect(target))
    except Exception as exc:
        raise PluginError(registry.provider("sources", cls.kind), f"detect({target!r}) raised {type(exc).__name__}: {exc}") from exc


def parse_source_extra(items: tuple[str, ...] | list[str]) -> dict[str, str]:
    extra = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--source-option {item!r} must look like KEY=VALUE")
        extra[key.strip()] = value
    return extra
