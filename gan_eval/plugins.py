"""Plugin discovery and lookup (pluggy).

Plugins come from the entry-point group ``gan_eval`` (built-ins included: they are registered by our
own pyproject exactly like a third party's) and from ``--plugin FILE.py``. Setting
``GAN_EVAL_DISABLE_PLUGIN_AUTOLOAD=1`` loads only the built-ins shipped in this distribution.
Every failure names the plugin it came from.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable, Mapping

import pluggy

from . import hookspecs
from .extractor import FeatureExtractor
from .metric import Metric
from .source import Source
from .errors import PluginError, UsageError

GROUP = "gan_eval"
DISABLE_AUTOLOAD_ENV = "GAN_EVAL_DISABLE_PLUGIN_AUTOLOAD"
OWN_DISTRIBUTION = "gan-eval"

#: hook name -> the attribute that names each returned class
_HOOK_KEYS = {
    "register_metrics": "name",
    "register_sources": "kind",
    "register_extractors": "name",
    "register_report_sections": "name",
    "register_commands": "name",
}


@dataclass
class PluginInfo:
    """Where a plugin came from and what it provides (``gan-eval plugins``)."""

    name: str
    origin: str  # "built-in", "entry point", "file"
    version: str | None
    location: str
    provides: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "origin": self.origin,
            "version": self.version,
            "location": self.location,
            "provides": self.provides,
        }


class Registry:
    """The loaded plugins and everything they provide, looked up by name."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self._provided: dict[str, dict[str, tuple[type | Any, str]]] = {h: {} for h in _HOOK_KEYS}

    # --- loading --------------------------------------------------------------------------------
    def load_entry_points(self, builtins_only: bool = False) -> None:
        for ep in sorted(_entry_points(), key=lambda e: e.name):
            dist = ep.dist.name if ep.dist is not None else None
            builtin = dist is not None and _canonical(dist) == OWN_DISTRIBUTION
            if builtins_only and not builtin:
                continue
            try:
                module = ep.load()
            except Exception as exc:  # a broken third-party plugin must name itself
                raise PluginError(ep.name, f"failed to import {ep.value!r}: {type(exc).__name__}: {exc}") from exc
            version = ep.dist.version if ep.dist is not None else None
            self.register(module, ep.name, "built-in" if builtin else "entry point", version, ep.value)

    def load_file(self, path: str | Path) -> None:
        path = Path(path)
        if not path.is_file():
            raise UsageError(f"--plugin {path}: no such file")
        name = f"gan_eval_file_plugin_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise PluginError(str(path), "cannot be imported as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(name, None)
            raise PluginError(str(path), f"failed to import: {type(exc).__name__}: {exc}") from exc
        self.register(module, path.stem, "file", getattr(module, "__version__", None), str(path.resolve()))

    def register(self, module: ModuleType | object, name: str, origin: str, version: str | None, location: str) -> None:
        if name in self.plugins:
            raise PluginError(name, f"a plugin of this name is already loaded from {self.plugins[name].location}")
        try:
            self.pm.register(module, name=name)
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            self.pm.unregister(name=name) if self.pm.has_plugin(name) else None
            raise PluginError(name, f"invalid hook implementation: {exc}") from exc
        info = PluginInfo(name, origin, version, location)
        self.plugins[name] = info
        for hook_name, key_attr in _HOOK_KEYS.items():
            impls = [i for i in getattr(self.pm.hook, hook_name).get_hookimpls() if i.plugin_name == name]
            if not impls:
                continue
            try:
                provided = impls[0].function() or []
            except Exception as exc:
                raise PluginError(name, f"{hook_name}() raised {type(exc).__name__}: {exc}") from exc
            if not isinstance(provided, (list, tuple)):
                raise PluginError(name, f"{hook_name}() must return a list, got {type(provided).__name__}")
            for item in provided:
                key = getattr(item, key_attr, None)
                if not isinstance(key, str) or not key:
                    raise PluginError(name, f"{hook_name}() returned {item!r} without a {key_attr!r}")
                problem = interface_problem(hook_name, item)
                if problem:
                    raise PluginError(name, f"{hook_name}(): {key!r} {problem}")
                table = self._provided[hook_name]
                if key in table:
                    raise PluginError(name, f"{hook_name}: {key!r} is already provided by plugin {table[key][1]!r}")
                table[key] = (item, name)
                info.provides.setdefault(hook_name.removeprefix("register_"), []).append(key)

    # --- lookup ----------------------------------------------------------------------------------
    def metrics(self) -> dict[str, type[Metric]]:
        return self._table("register_metrics")

    def sources(self) -> dict[str, type[Source]]:
        return self._table("register_sources")

    def extractors(self) -> dict[str, type[FeatureExtractor]]:
        return self._table("register_extractors")

    def report_sections(self) -> dict[str, Any]:
        return self._table("register_report_sections")

    def commands(self) -> dict[str, Any]:
        return self._table("register_commands")

    def provider(self, hook: str, key: str) -> str:
        """The name of the plugin that provided ``key`` through ``hook`` (for error messages)."""
        return self._provided[f"register_{hook}"][key][1]

    def metric(self, name: str) -> type[Metric]:
        return self._lookup("register_metrics", name, "metric", "-m")

    def extractor(self, name: str) -> type[FeatureExtractor]:
        return self._lookup("register_extractors", name, "feature extractor", "--extractor")

    def _table(self, hook: str) -> dict[str, Any]:
        return {key: item for key, (item, _) in self._provided[hook].items()}

    def _lookup(self, hook: str, name: str, what: str, flag: str) -> Any:
        table = self._provided[hook]
        if name not in table:
            known = ", ".join(sorted(table)) or "none installed"
            raise UsageError(f"unknown {what} {name!r} for {flag} (available: {known}; see 'gan-eval plugins')")
        return table[name][0]


def interface_problem(hook_name: str, item: Any) -> str | None:
    """Why ``item`` cannot serve ``hook_name`` (not the right base class, abstract methods left,
    required attributes missing or malformed), or None. Checked at registration, so a broken plugin
    fails when it loads, naming itself, not with a traceback when it is first used."""
    from .metric import INPUTS
    from .params import Param

    if hook_name == "register_commands":
        import click

        return None if isinstance(item, click.Command) else f"is not a click command ({type(item).__name__})"
    bases: dict[str, type] = {"register_metrics": Metric, "register_extractors": FeatureExtractor, "register_sources": Source}
    if hook_name == "register_report_sections":
        from .report.section import ReportSection

        bases[hook_name] = ReportSection
    base = bases[hook_name]
    if not isinstance(item, type) or not issubclass(item, base):
        return f"is not a subclass of gan_eval.{base.__name__}"
    if inspect.isabstract(item):
        return f"leaves abstract method(s) unimplemented: {', '.join(sorted(getattr(item, '__abstractmethods__', ())))}"
    if hook_name == "register_metrics":
        if not isinstance(getattr(item, "primary", None), str):
            return "has no 'primary' (the key of compute()'s result that summarises it)"
        extra = set(getattr(item, "requires", ())) - INPUTS - {"labels"}
        if extra:
            return f"requires unknown input(s) {sorted(extra)} (known: {', '.join(sorted(INPUTS | {'labels'}))})"
        if getattr(item, "reference", None) not in ("required", "optional", "unused"):
            return f"has reference={getattr(item, 'reference', None)!r}; expected 'required', 'optional' or 'unused'"
    if hook_name == "register_extractors":
        extra = set(getattr(item, "outputs", ())) - {"features", "logits"}
        if extra or not getattr(item, "outputs", None):
            return f"has outputs {sorted(getattr(item, 'outputs', ()))}; expected a non-empty subset of features, logits"
    if hook_name in ("register_metrics", "register_extractors"):
        params = getattr(item, "params", {})
        if not isinstance(params, Mapping) or not all(isinstance(p, Param) for p in params.values()):
            return "has 'params' that are not a mapping of gan_eval.Param"
    if hook_name == "register_sources" and ":" in getattr(item, "kind", ""):
        return "has a 'kind' containing ':'"
    return None


def load_registry(plugin_files: Iterable[str | Path] = (), autoload: bool | None = None) -> Registry:
    """A registry with the entry-point plugins (all, or only built-ins) and the given plugin files."""
    if autoload is None:
        autoload = os.environ.get(DISABLE_AUTOLOAD_ENV, "").strip().lower() not in ("1", "true", "yes")
    registry = Registry()
    registry.load_entry_points(builtins_only=not autoload)
    for path in plugin_files:
        registry.load_file(path)
    return registry


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    return list(importlib.metadata.entry_points(group=GROUP))


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-")
