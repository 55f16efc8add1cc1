"""Score a generated set against an optional reference: the whole job behind ``gan-eval score``.

:class:`ScoreConfig` holds every choice that affects the numbers; the record stores it, so that
``gan-eval verify`` can re-run exactly the same job.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from . import numerics, stats_files
from .cache import ReferenceCache, cached_reference_pass
from .engine import PassResult, Shard, needed_inputs, run_pass
from .errors import GanEvalError, PluginError, UsageError
from .extractor import FeatureExtractor, SourceInfo
from .metric import Metric
from . import __version__
from .plugins import Registry
from .resume import PassCheckpoint
from .source import Source, SourceOptions
from .specs import open_source


@dataclass
class ScoreConfig:
    """Everything that determines a score. Serialised as-is into the run record."""

    generated: str
    reference: str | None = None
    metrics: list[str] = field(default_factory=lambda: ["laplacian"])
    metric_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    extractor: str = "auto"
    extractor_params: dict[str, Any] = field(default_factory=dict)
    batch_size: int = 64
    device: str = "auto"
    workers: int | str = "auto"
    source_options: dict[str, Any] = field(default_factory=dict)
    plugin_files: list[str] = field(default_factory=list)
    use_cache: bool = True
    #: "exact" (float32, no TF32) or "fast" (``--fast``: TF32, bfloat16, channels-last; gan_eval/numerics.py).
    numerics: str = "exact"

    def options(self) -> SourceOptions:
        return SourceOptions(**self.source_options)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ScoreConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise UsageError(f"--device {name!r}: {exc}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"--device {name}: CUDA is not available on this machine (use --device cpu)")
    return device


def build_metrics(registry: Registry, config: ScoreConfig) -> list[Metric]:
    if not config.metrics:
        raise UsageError("no metric selected: pass at least one -m NAME (see 'gan-eval plugins')")
    if len(set(config.metrics)) != len(config.metrics):
        raise UsageError(f"a metric is listed twice in {config.metrics}")
    unknown_params = set(config.metric_params) - set(config.metrics)
    if unknown_params:
        raise UsageError(f"-O given for metric(s) not selected with -m: {', '.join(sorted(unknown_params))}")
    metrics = []
    for name in config.metrics:
        cls = registry.metric(name)
        try:
            metrics.append(cls(**config.metric_params.get(name, {})))
        except GanEvalError:
            raise
        except Exception as exc:
            raise PluginError(registry.provider("metrics", name), f"metric {name!r} failed to initialise: {type(exc).__name__}: {exc}") from exc
    return metrics


def select_extractor(
    registry: Registry, name: str, params: dict[str, Any], info: SourceInfo, device: torch.device
) -> FeatureExtractor:
    """The named extractor, or for ``auto`` the highest-priority one that suits the data and can run."""
    if name != "auto":
        cls = registry.extractor(name)
        reason = cls.unavailable_reason(params)
        if reason:
            raise GanEvalError(f"feature extractor {name!r} cannot run: {reason}")
        return _instantiate(registry, cls, device, params)
    reasons = []
    for cls in sorted(registry.extractors().values(), key=lambda c: -c.priority):
        if not cls.suits(info):
            reasons.append(f"{cls.name}: does not suit {info.get('height')}x{info.get('width')}x{info.get('channels')} images")
            continue
        reason = cls.unavailable_reason({})
        if reason:
            reasons.append(f"{cls.name}: {reason}")
            continue
        return _instantiate(registry, cls, device, {})
    detail = "; ".join(reasons) or "no feature extractor plugin is installed"
    raise GanEvalError(f"--extractor auto found no usable feature extractor ({detail})")


def selection_info(generated: Source, reference: Source | None) -> SourceInfo:
    """What ``--extractor auto`` may look at: the generated source's info, the reference's under
    ``"reference"``, and in each a ``"sample"`` function giving up to n of its images (uint8 N×3×H×W)."""
    info = SourceInfo(generated.info(), sample=_sampler(generated))
    if reference is not None:
        info["reference"] = {**reference.info(), "sample": _sampler(reference)}
    return info


def _sampler(source: Source) -> Callable[[int], Any]:
    return lambda n: source.read(0, min(n, len(source))).images


def _instantiate(registry: Registry, cls: type, device: torch.device, params: dict[str, Any]) -> FeatureExtractor:
    fast = numerics.current() == numerics.FAST
    if fast:
        params = numerics.fast_extractor_params(getattr(cls, "params", {}), params, device.type)
    try:
        extractor = cls(device, **params)
    except GanEvalError:
        raise
    except Exception as exc:
        raise PluginError(registry.provider("extractors", cls.name), f"extractor {cls.name!r} failed to load: {type(exc).__name__}: {exc}") from exc
    if fast:
        numerics.mark_fast(extractor)
    return extractor


def result_name(metric: Metric, extractor: FeatureExtractor | None) -> str:
    """Result names carry the extractor when the metric uses one (``fid@inception``)."""
    if extractor is not None and metric.requires & {"features", "logits"}:
        return f"{metric.name}@{extractor.name}"
    return metric.name


#: Hook for reference caching and precomputed statistics: (source, metrics, run) -> PassResult.
ReferencePass = Callable[[Source, list[Metric], Callable[[Source, list[Metric]], PassResult]], PassResult]


def _direct_reference(source: Source, metrics: list[Metric], run: Callable[[Source, list[Metric]], PassResult]) -> PassResult:
    return run(source, metrics)


@dataclass
class ScoreOutcome:
    """Results plus the facts the record needs about inputs and extractor."""

    results: list[dict[str, Any]]
    inputs: dict[str, dict[str, Any]]
    extractor: dict[str, Any] | None
    warnings: list[str]
    device: str
    #: The first images of each input's pass (uint8 N×3×H×W), for the record's sample grids.
    previews: dict[str, Any] = field(default_factory=dict)


def _in_config_numerics(run: Callable[..., "ScoreOutcome"]) -> Callable[..., "ScoreOutcome"]:
    """Run ``score`` inside its config's numerics scope (exact or fast TF32/cuDNN settings)."""

    @functools.wraps(run)
    def wrapper(registry: Registry, config: ScoreConfig, **options: Any) -> "ScoreOutcome":
        if config.numerics not in numerics.MODES:
            raise UsageError(f"numerics {config.numerics!r} must be one of {', '.join(numerics.MODES)}")
        with numerics.numerics(config.numerics):
            return run(registry, config, **options)

    return wrapper


@_in_config_numerics
def score(
    registry: Registry,
    config: ScoreConfig,
    *,
    shard: Shard = Shard(),
    reference_pass: ReferencePass = _direct_reference,
    progress_factory: Callable[[str, int], Callable[[int], None] | None] | None = None,
    sync: Callable[[PassResult], PassResult] | None = None,
    resume_dir: str | None = None,
    resume_every: int = 50,
    reference_guard: Callable[[ReferencePass], ReferencePass] | None = None,
) -> ScoreOutcome:
    """Run the whole job. ``sync`` merges a shard's pass with the other ranks' (distributed runs).
    With ``resume_dir``, each pass snapshots its state there and a re-run resumes from it.
    ``reference_guard`` wraps the reference pass (cache included): distributed runs let rank 0 alone
    consult and write the cache (gan_eval/distributed.py)."""
    device = resolve_device(config.device)
    metrics = build_metrics(registry, config)
    options = config.options()
    generated = open_source(registry, config.generated, options)
    ref_file = stats_files.stats_path(config.reference) if config.reference else None  # --ref stats:FILE
    ref_stats = stats_files.read_stats(ref_file) if ref_file is not None else None
    reference = open_source(registry, config.reference, options) if config.reference and ref_stats is None else None
    missing_ref = [m.name for m in metrics if m.reference == "required"]
    if missing_ref and reference is None and ref_stats is None:
        raise UsageError(f"metric(s) {', '.join(missing_ref)} need a reference: pass --ref REFERENCE")

    notes: list[str] = []
    extractor = None
    if needed_inputs(metrics) & {"features", "logits"}:
        extractor = select_extractor(registry, config.extractor, config.extractor_params, selection_info(generated, reference), device)
        lacking = [m.name for m in metrics if (m.requires & {"features", "logits"}) - extractor.outputs]
        if lacking:
            raise UsageError(f"extractor {extractor.name!r} provides only {sorted(extractor.outputs)}, which metric(s) {', '.join(lacking)} do not get")
        if not extractor.standard:
            notes.append(
                f"feature extractor {extractor.name!r} is not the standard Inception network: its FID/IS/KID "
                "values are comparable only with values computed with the same extractor, not with published numbers"
            )

    plugin_of = {m.name: registry.provider("metrics", m.name) for m in metrics}
    snapshots: list[PassCheckpoint] = []

    def run(source: Source, subset: list[Metric]) -> PassResult:
        start, stop = shard.bounds(len(source), config.batch_size)
        tick = progress_factory(source.spec, stop - start) if progress_factory else None
        checkpoint = _pass_checkpoint(resume_dir, resume_every, source, subset, extractor, config, shard)
        if checkpoint is not None:
            snapshots.append(checkpoint)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = run_pass(
                source, subset, extractor, batch_size=config.batch_size, device=device, shard=shard,
                workers=config.workers, progress=tick, plugin_of=plugin_of,
                checkpoint=checkpoint,
            )
        notes.extend(str(w.message) for w in caught if str(w.message) not in notes)
        return sync(result) if sync else result

    gen_pass = run(generated, metrics)
    if gen_pass.count == 0:
        raise GanEvalError(f"{generated.spec}: no images could be read ({len(gen_pass.skipped)} skipped)")
    ref_metrics = [m for m in metrics if m.uses_reference()] if reference is not None or ref_stats is not None else []
    if ref_stats is not None:
        ref_pass = stats_files.reference_pass(ref_stats, ref_metrics, extractor.identity() if extractor else None, notes) if ref_metrics else None
    else:
        if reference_pass is _direct_reference and config.use_cache and (shard.world == 1 or reference_guard is not None):
            reference_pass = cached_reference_pass(extractor, ReferenceCache(note=notes.append))
        if reference_guard is not None:
            reference_pass = reference_guard(reference_pass)
        ref_pass = reference_pass(reference, ref_metrics, run) if ref_metrics else None

    results = [compute_result(metric, gen_pass, ref_pass, extractor, plugin_of[metric.name], notes) for metric in metrics]

    for checkpoint in snapshots:  # the job is complete: its snapshots are no longer needed
        checkpoint.clear()
    inputs = {"generated": _input_record(generated, gen_pass)}
    if ref_stats is not None:
        inputs["reference"] = stats_files.input_record(ref_stats, ref_pass)
    if reference is not None:
        inputs["reference"] = _input_record(reference, ref_pass) if ref_pass else {**reference.info(), "spec": reference.spec, "used": False}
    previews = {"generated": gen_pass.preview, "reference": ref_pass.preview if ref_pass else None}
    return ScoreOutcome(results, inputs, extractor.identity() if extractor else None, notes, str(device), previews)


def compute_result(
    metric: Metric, gen_pass: PassResult, ref_pass: PassResult | None, extractor: FeatureExtractor | None,
    plugin: str, notes: list[str],
) -> dict[str, Any]:
    """One metric's entry in the record: its values (all finite), warnings, details and description."""
    ref_state = ref_pass.states.get(metric.name) if ref_pass and metric.uses_reference() else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            values = metric.compute(gen_pass.states[metric.name], ref_state)
        except GanEvalError:
            raise
        except Exception as exc:
            raise PluginError(plugin, f"metric {metric.name!r} failed in compute(): {type(exc).__name__}: {exc}") from exc
    bad = {k: v for k, v in values.items() if not math.isfinite(float(v))}
    if bad:
        raise PluginError(plugin, f"metric {metric.name!r} produced non-finite values {bad} (inputs may contain NaN/Inf, or too few images)")
    metric_notes = [str(w.message) for w in caught]
    notes.extend(f"{metric.name}: {n}" for n in metric_notes)
    uses_extractor = extractor is not None and bool(metric.requires & {"features", "logits"})
    return {
        "name": result_name(metric, extractor),
        **metric.describe(),
        "plugin": plugin,
        "extractor": extractor.name if uses_extractor else None,
        "values": {k: float(v) for k, v in values.items()},
        "warnings": metric_notes,
        **metric_details(metric, gen_pass.states[metric.name], ref_state, plugin),
    }


#: Largest ``details`` a metric may store in the record (JSON characters); larger ones are an error.
MAX_DETAILS_CHARS = 64_000


def metric_details(metric: Metric, generated: Any, reference: Any, plugin: str) -> dict[str, Any]:
    """``{"details": ...}`` when the metric returns small JSON data for report sections, else ``{}``."""
    try:
        details = metric.details(generated, reference)
    except GanEvalError:
        raise
    except Exception as exc:
        raise PluginError(plugin, f"metric {metric.name!r} failed in details(): {type(exc).__name__}: {exc}") from exc
    if details is None:
        return {}
    try:
        text = json.dumps(details, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PluginError(plugin, f"metric {metric.name!r}: details() must return JSON data without NaN/Inf ({exc})") from exc
    if len(text) > MAX_DETAILS_CHARS:
        raise PluginError(plugin, f"metric {metric.name!r}: details() returned {len(text):,} characters of JSON (limit {MAX_DETAILS_CHARS:,}): store a summary such as a histogram")
    return {"details": json.loads(text)}


def _pass_checkpoint(
    directory: str | None, every: int, source: Source, metrics: list[Metric], extractor: FeatureExtractor | None,
    config: ScoreConfig, shard: Shard,
) -> PassCheckpoint | None:
    """A snapshot location keyed by everything that determines this pass's state."""
    if directory is None:
        return None
    key = {
        "source": source.spec, "fingerprint": source.fingerprint(), "metrics": [m.describe() for m in metrics],
        "extractor": extractor.identity() if extractor is not None else None, "batch_size": config.batch_size,
        "shard": [shard.rank, shard.world], "version": __version__,
    }
    return PassCheckpoint(directory, key, every)


def _input_record(source: Source, result: PassResult) -> dict[str, Any]:
    return {
        **source.info(),
        "spec": source.spec,
        "fingerprint": source.fingerprint(),
        "count": result.count,
        "skipped": [dataclasses.asdict(s) for s in result.skipped],
    }
