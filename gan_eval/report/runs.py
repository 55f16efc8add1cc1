"""The runs a report compares: run records read from disk (directly or through a sweep manifest)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from ..errors import InputError
from ..record import SCHEMA, read_record

#: Facts a trainer checkpoint's source reports in ``info()``, shown when present (in this order).
TRAINER_FACTS = ("role", "arch", "d", "parameters", "teacher_parameters", "compression_ratio", "dataset")


@dataclass
class ReportRun:
    """One run record and the label the report shows for it."""

    label: str
    record: dict[str, Any]
    #: Where the record came from (a path, or a description for an in-memory run).
    origin: str = ""

    @property
    def generated(self) -> dict[str, Any]:
        return self.record.get("inputs", {}).get("generated", {})

    @property
    def reference(self) -> dict[str, Any] | None:
        return self.record.get("inputs", {}).get("reference")

    def result(self, metric: str) -> dict[str, Any] | None:
        """The result of a metric, looked up by plugin name (``fid``) or result name (``fid@inception``)."""
        for result in self.record.get("results", []):
            if result.get("name") == metric or result.get("metric") == metric:
                return result
        return None

    def details(self, metric: str) -> dict[str, Any] | None:
        """Extra data a metric stored for report sections (its ``details()``), if any."""
        result = self.result(metric)
        return result.get("details") if result else None

    def primary(self, name: str) -> float | None:
        result = self.result(name)
        if result is None:
            return None
        value = result.get("values", {}).get(result.get("primary"))
        return float(value) if isinstance(value, (int, float)) else None

    def interval(self, name: str, key: str | None = None) -> dict[str, Any] | None:
        """The recorded interval (``low``, ``high``, ``level``, ``method`` ...) of a result's value
        ``key`` (default: its primary value), or None when the run recorded none for it."""
        result = self.result(name)
        if result is None:
            return None
        found = (result.get("intervals") or {}).get(key or result.get("primary") or "")
        if not isinstance(found, dict) or not all(isinstance(found.get(k), (int, float)) for k in ("low", "high")):
            return None
        return found

    def fact(self, key: str) -> Any:
        """A trainer fact (``d``, ``parameters``, ``compression_ratio`` ...) of the generated input."""
        return self.generated.get(key)


def load_runs(paths: Iterable[str | Path]) -> list[ReportRun]:
    """Run records from record files and sweep manifests (``{"runs": [...]}``), in the given order."""
    runs: list[ReportRun] = []
    for path in paths:
        path = Path(path)
        data = _read_json(path)
        if isinstance(data, dict) and data.get("schema") == SCHEMA:
            runs.append(ReportRun(path.stem, read_record(path), str(path)))
        elif isinstance(data, dict) and isinstance(data.get("runs"), list):
            runs.extend(_manifest_runs(path, data["runs"]))
        else:
            raise InputError(path, f'neither a gan-eval run record (schema {SCHEMA!r}) nor a manifest with a "runs" list')
    if not runs:
        raise InputError(", ".join(map(str, paths)) or "(no files)", "no runs to report")
    return unique_labels(runs)


def _manifest_runs(manifest: Path, entries: list[Any]) -> list[ReportRun]:
    """Entries are record paths relative to the manifest, or objects with ``record`` (and ``label``)."""
    runs = []
    for index, entry in enumerate(entries):
        label = None
        if isinstance(entry, dict):
            label = entry.get("label") or entry.get("name")
            target = entry.get("record")
            if target is None:
                what = entry.get("checkpoint") or entry.get("path") or entry
                raise InputError(
                    manifest,
                    f"runs[{index}] ({what}) names no run record: score it first ('gan-eval score ... --out RUN.json') and list the record under \"record\"",
                )
        else:
            target = entry
        if not isinstance(target, str):
            raise InputError(manifest, f'runs[{index}] must be a record path or an object with "record", got {entry!r}')
        path = manifest.parent / target
        runs.append(ReportRun(str(label) if label else path.stem, read_record(path), str(path)))
    return runs


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except IsADirectoryError:
        raise InputError(path, "is a folder, not a run record or manifest") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(path, f"not JSON ({exc})") from None
    except RecursionError:
        raise InputError(path, "not a run record or manifest: its JSON is nested too deeply to read") from None


def unique_labels(runs: list[ReportRun]) -> list[ReportRun]:
    """Make labels distinct by appending ``#2``, ``#3`` ... to repeats (a table needs unique rows)."""
    seen: dict[str, int] = {}
    for run in runs:
        seen[run.label] = seen.get(run.label, 0) + 1
        if seen[run.label] > 1:
            run.label = f"{run.label} #{seen[run.label]}"
    return runs


def comparability_warnings(runs: list[ReportRun]) -> list[str]:
    """Reasons why numbers in the same column may not be comparable across these runs."""
    notes: list[str] = []
    if len(runs) < 2:
        return notes
    references = {reference_identity(r.reference) for r in runs if r.reference}
    if len(references) > 1:
        notes.append(
            f"the runs were scored against {len(references)} different references (fingerprints differ): their reference-based values are not comparable"
        )
    for name in summary_metric_names(runs):
        identities = {json.dumps(_extractor_of(r, name), sort_keys=True) for r in runs if r.result(name) is not None}
        if len(identities) > 1:
            notes.append(f"{name}: the runs used different feature extractors (weights, profile or parameters differ): values are not comparable")
        params = {json.dumps(result.get("params"), sort_keys=True) for r in runs if (result := r.result(name)) is not None}
        if len(params) > 1:
            notes.append(f"{name}: the runs used different metric parameters")
    counts = {r.generated.get("count") for r in runs}
    if len(counts) > 1:
        notes.append(
            f"the generated sets have different sizes ({', '.join(str(c) for c in sorted(counts, key=str))} images): FID and KID depend on the sample size"
        )
    return notes


def summary_metric_names(runs: list[ReportRun]) -> list[str]:
    """Result names across runs, in order of first appearance."""
    names: list[str] = []
    for run in runs:
        for result in run.record.get("results", []):
            if result.get("name") not in names:
                names.append(result.get("name"))
    return names


def reference_identity(reference: dict[str, Any]) -> Any:
    """What a reference is, not how it was named: the content fingerprint of its images, also for a
    stats file made from them (whose record keeps that fingerprint as ``source_fingerprint``)."""
    return reference.get("fingerprint") or reference.get("source_fingerprint") or reference.get("file_sha256")


def _extractor_of(run: ReportRun, name: str) -> Any:
    result = run.result(name)
    if not result or not result.get("extractor"):
        return None
    return (run.record.get("extractors") or {}).get(result["extractor"]) or run.record.get("extractor")
