"""``gan-eval verify RECORD``: re-run a recorded score and check that every value reproduces.

First each input's content fingerprint is compared with the recorded one (a changed input is named and
nothing is re-scored); then the job is re-run from the recorded configuration and every value is
compared within a tolerance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from .plugins import Registry
from .scoring import ScoreConfig
from .source import SourceOptions
from .specs import open_source


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


def changed_inputs(registry: Registry, record: dict[str, Any], config: ScoreConfig) -> list[str]:
    """Labels and specs of inputs whose content fingerprint differs from the record's."""
    options: SourceOptions = config.options()
    changed = []
    for label, info in record.get("inputs", {}).items():
        recorded = info.get("fingerprint")
        if recorded is None:
            continue
        spec = config.generated if label == "generated" else config.reference
        current = open_source(registry, spec, options).fingerprint()
        if current != recorded:
            changed.append(f"{label} input {spec!r} changed (fingerprint {recorded[:12]}… is now {current[:12]}…)")
    return changed


def compare(recorded: list[dict[str, Any]], reproduced: list[dict[str, Any]], rtol: float, atol: float) -> tuple[list[Check], list[str]]:
    """Every recorded value against the reproduced one: |a - b| <= atol + rtol·|a|."""
    checks, problems = [], []
    now = {r["name"]: r["values"] for r in reproduced}
    for result in recorded:
        values = now.get(result["name"])
        if values is None:
            problems.append(f"result {result['name']!r} was not reproduced")
            continue
        for key, old in result["values"].items():
            new = values.get(key)
            ok = new is not None and math.isclose(old, new, rel_tol=rtol, abs_tol=atol)
            checks.append(Check(result["name"], key, old, new, ok))
    return checks, problems


def verify(
    registry: Registry,
    record: dict[str, Any],
    rerun: Callable[[ScoreConfig], dict[str, Any]],
    rtol: float = 1e-6,
    atol: float = 1e-9,
) -> Verdict:
    config = ScoreConfig.from_dict(record["config"])
    changed = changed_inputs(registry, record, config)
    if changed:
        return Verdict(False, changed_inputs=changed)
    checks, problems = compare(record["results"], rerun(config)["results"], rtol, atol)
    return Verdict(all(c.ok for c in checks) and not problems, checks=checks, problems=problems)
