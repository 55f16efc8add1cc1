"""``gan-eval verify RECORD``: re-run a recorded score and check that every value reproduces.

A record proves something only if re-running it can fail. So verify checks, in order: that the
record holds a result for every metric its configuration asks for (deleted results fail); that it
names no code to run (plugin files, ``callable:`` modules) unless the caller allows it, because
verifying someone else's record must not execute their code; that every input's content
fingerprint is unchanged; then it recomputes the configuration, by default without the reference
cache (which the checked run may have written itself), and compares every value and interval.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from .errors import InputError, UsageError
from .plugins import Registry, load_registry
from .scoring import ScoreConfig, split_metric
from .specs import open_source

#: Source kinds whose spec names Python code to import.
CODE_KINDS = ("callable",)


@dataclass
class Check:
    """One compared value."""

    result: str
    key: str
    recorded: float
    reproduced: float | None
    ok: bool


@dataclass
class Verdict:
    ok: bool
    changed_inputs: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def config_of(record: dict[str, Any], where: str) -> ScoreConfig:
    """The recorded configuration, or an InputError saying what is wrong with the record."""
    config = record.get("config")
    if not isinstance(config, dict) or not isinstance(config.get("generated"), str):
        raise InputError(where, "the record has no usable 'config' (a gan-eval run record needs config.generated)")
    try:
        return ScoreConfig.from_dict(config)
    except (TypeError, ValueError) as exc:
        raise InputError(where, f"the record's config is malformed: {exc}") from None


def code_it_would_run(config: ScoreConfig) -> list[str]:
    """The plugin files and importable modules a re-run of ``config`` would execute."""
    named = [f"plugin file {path}" for path in config.plugin_files]
    for spec in (config.generated, config.reference):
        if spec and spec.partition(":")[0] in CODE_KINDS:
            named.append(f"module of {spec!r}")
    return named


def missing_results(record: dict[str, Any], config: ScoreConfig) -> list[str]:
    """Metrics the configuration asked for that the record has no result for."""
    names = {r.get("name") for r in record.get("results", []) if isinstance(r, dict)}
    if config.metrics is None:
        return [] if names else ["the record holds no results"]
    missing = []
    for spec in config.metrics:
        metric, extractor = split_metric(spec)
        if not any(n == spec or (extractor is None and isinstance(n, str) and n.partition("@")[0] == metric) for n in names):
            missing.append(f"metric {spec!r} of the recorded config has no result in the record")
    return missing


def changed_inputs(registry: Registry, record: dict[str, Any], config: ScoreConfig) -> list[str]:
    """Labels and specs of inputs whose content fingerprint differs from the record's."""
    changed = []
    for label, info in record.get("inputs", {}).items():
        recorded = info.get("fingerprint") if isinstance(info, dict) else None
        if recorded is None:
            continue
        spec = config.generated if label == "generated" else config.reference
        if spec is None:
            continue
        options = config.options() if label == "generated" else config.ref_options()
        current = open_source(registry, spec, options).fingerprint()
        if current != recorded:
            changed.append(f"{label} input {spec!r} changed (fingerprint {str(recorded)[:12]}… is now {current[:12]}…)")
    return changed


def compare(recorded: list[dict[str, Any]], reproduced: list[dict[str, Any]], rtol: float, atol: float) -> tuple[list[Check], list[str]]:
    """Every recorded value (and interval bound) against the reproduced one: |a - b| <= atol + rtol·|a|."""
    checks: list[Check] = []
    problems: list[str] = []
    now = {r["name"]: r for r in reproduced}
    recorded_names = {r.get("name") for r in recorded}
    problems.extend(f"result {name!r} is computed by the recorded config but missing from the record" for name in now if name not in recorded_names)
    for result in recorded:
        current = now.get(result.get("name"))
        if current is None:
            problems.append(f"result {result.get('name')!r} was not reproduced")
            continue
        for key, old in result.get("values", {}).items():
            new = current["values"].get(key)
            checks.append(Check(result["name"], key, old, new, _close(old, new, rtol, atol)))
        for key in current["values"].keys() - result.get("values", {}).keys():
            problems.append(f"value {result['name']}.{key} is computed by the recorded config but missing from the record")
        for key in (current.get("intervals") or {}).keys() - (result.get("intervals") or {}).keys():
            problems.append(f"the interval of {result['name']}.{key} is computed by the recorded config but missing from the record")
        for key, interval in (result.get("intervals") or {}).items():
            again = (current.get("intervals") or {}).get(key, {})
            for bound in ("low", "high"):
                new = again.get(bound)
                checks.append(Check(result["name"], f"{key}.{bound}", interval.get(bound), new, _close(interval.get(bound), new, rtol, atol)))
    return checks, problems


def _close(old: Any, new: Any, rtol: float, atol: float) -> bool:
    try:
        return new is not None and math.isclose(float(old), float(new), rel_tol=rtol, abs_tol=atol)
    except (TypeError, ValueError):
        return False


def verify(
    record: dict[str, Any],
    rerun: Callable[[Registry, ScoreConfig], Any],
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    allow_code: bool = False,
    use_cache: bool = False,
    where: str = "record",
) -> Verdict:
    config = config_of(record, where)
    if config.generated.startswith("memory:"):
        raise UsageError(f"{where}: its generated images were given in memory (Python API); there is nothing on disk to re-run")
    code = code_it_would_run(config)
    if code and not allow_code:
        raise UsageError(
            f"{where}: re-running it would execute code it names ({'; '.join(code)}). Pass --allow-code (allow_code=True) only for records you trust"
        )
    missing = missing_results(record, config)
    if missing:
        return Verdict(False, problems=missing)
    registry = load_registry(config.plugin_files)
    changed = changed_inputs(registry, record, config)
    if changed:
        return Verdict(False, changed_inputs=changed)
    config.use_cache = config.use_cache and use_cache
    checks, problems = compare(record.get("results", []), rerun(registry, config).record["results"], rtol, atol)
    return Verdict(all(c.ok for c in checks) and not problems, checks=checks, problems=problems)
