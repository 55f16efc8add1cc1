"""Score a generated set against an optional reference: the one job behind ``evaluate()``, ``gan-eval
score`` and ``gan-eval stats``.

:class:`ScoreConfig` holds every choice that affects the numbers; the record stores it, so that
``gan-eval verify`` can re-run exactly the same job. :class:`Job` turns a config into bound metrics
(``fid@inception``), opened sources and extractors, and runs the passes inside the config's numerics.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import warnings
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import torch

from . import numerics, stats_files
from .version import __version__
from .cache import ReferenceCache, cached_reference_pass
from .bootstrap import DEFAULT_BLOCKS, DEFAULT_RESAMPLES, metric_intervals, why_no_intervals
from .engine import FEATURE_INPUTS, Bound, PassResult, Shard, run_pass
from .errors import GanEvalError, PluginError, UsageError
from .extractor import FeatureExtractor, SourceInfo
from .metric import Metric
from .plugins import Registry
from .resume import PassCheckpoint
from .source import Source, SourceOptions
from .specs import open_source, validate_source_options

#: Metrics a run computes when none is named: those installed that apply (with or without a reference).
DEFAULT_METRICS = ("fid", "is", "kid", "laplacian")
AUTO = "auto"


@dataclass
class ScoreConfig:
    """Everything that determines a score. Serialised as-is into the run record.

    ``metrics`` are metric names, bare (``fid``: bound to ``extractor``, which ``auto`` resolves) or
    bound to a named extractor (``fid@inception``); None means the defaults that apply.
    ``metric_params`` is keyed by metric name (applies to every binding of it) or by binding key;
    ``extractor_params`` by extractor name.
    """

    generated: str
    reference: str | None = None
    metrics: list[str] | None = None
    metric_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    extractor: str = AUTO
    extractor_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    batch_size: int = 64
    device: str = "auto"
    workers: int | str = "auto"
    #: Single-threaded extractor calls run side by side on a CPU (gan_eval/streams.py); auto: torch's thread count.
    cpu_streams: int | str = "auto"
    source_options: dict[str, Any] = field(default_factory=dict)
    #: Options for the reference that differ from ``source_options`` (``--limit-ref``).
    reference_options: dict[str, Any] = field(default_factory=dict)
    plugin_files: list[str] = field(default_factory=list)
    use_cache: bool = True
    #: "exact" (float32, no TF32) or "fast" (``--fast``: TF32, bfloat16, channels-last; gan_eval/numerics.py).
    numerics: str = "exact"
    #: Seeds every sampled metric (IS shuffle, KID subsets, bootstrap) that has a ``seed`` parameter
    #: not set with ``-O``.
    seed: int = 0
    #: Bootstrap resamples for confidence intervals (0: none; default ``$GAN_EVAL_BOOTSTRAP`` or 200)
    #: and their level (docs/intervals.md).
    bootstrap: int = field(default_factory=lambda: default_resamples())
    ci: float = 0.95
    #: Per-block partial sums each state keeps for resampling (batch i → block i mod K).
    blocks: int = DEFAULT_BLOCKS

    def state_blocks(self) -> int:
        """Blocks the passes keep: none when no interval is wanted."""
        return self.blocks if self.bootstrap > 0 else 0

    def __post_init__(self) -> None:
        params = self.extractor_params or {}
        if params and not all(isinstance(v, Mapping) for v in params.values()):  # one extractor's params
            self.extractor_params = {self.extractor: dict(params)}
        if "seed" in (self.source_options or {}):  # 0.1 kept the seed among the source options
            options = dict(self.source_options)
            self.seed = int(options.pop("seed"))
            self.source_options = options

    def options(self) -> SourceOptions:
        return SourceOptions(**{**self.source_options, "seed": self.seed})

    def ref_options(self) -> SourceOptions:
        merged = {**self.source_options, "limit": None, **self.reference_options, "seed": self.seed}
        return SourceOptions(**merged)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ScoreConfig":
        """The config a record stores (records of earlier versions included)."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


#: Environment variable giving the default number of bootstrap resamples (0 turns intervals off).
BOOTSTRAP_ENV = "GAN_EVAL_BOOTSTRAP"


def default_resamples() -> int:
    """Bootstrap resamples when none are asked for: ``$GAN_EVAL_BOOTSTRAP``, else 200 (docs/intervals.md)."""
    raw = os.environ.get(BOOTSTRAP_ENV, "").strip()
    if not raw:
        return DEFAULT_RESAMPLES
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"${BOOTSTRAP_ENV}={raw!r} must be a whole number of resamples (0: no intervals)") from None
    if value < 0:
        raise UsageError(f"${BOOTSTRAP_ENV}={raw!r} must be ≥ 0")
    return value


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise UsageError(f"--device {name!r}: {exc}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"--device {name}: CUDA is not available on this machine (use --device cpu)")
    if device.type not in ("cpu", "cuda"):
        probe = getattr(torch, device.type, None)
        available = getattr(probe, "is_available", None)
        if available is None or not available():
            raise UsageError(f"--device {name}: this torch build has no usable {device.type!r} backend (use --device cpu or cuda)")
    return device


def split_metric(spec: str) -> tuple[str, str | None]:
    """``"fid@inception"`` → ``("fid", "inception")``; ``"fid"`` → ``("fid", None)``."""
    name, sep, extractor = spec.partition("@")
    if not name or (sep and not extractor):
        raise UsageError(f"metric {spec!r} must look like NAME or NAME@EXTRACTOR, e.g. fid@inception")
    return name, extractor or None


def default_metrics(registry: Registry, has_reference: bool) -> list[str]:
    available = registry.metrics()
    return [name for name in DEFAULT_METRICS if name in available and (has_reference or available[name].reference != "required")]


def result_name(metric: Metric, extractor: FeatureExtractor | None) -> str:
    """Result names carry the extractor when the metric uses one (``fid@inception``)."""
    if extractor is not None and metric.requires & FEATURE_INPUTS:
        return f"{metric.name}@{extractor.name}"
    return metric.name


def selection_info(generated: Source, reference: Source | None) -> SourceInfo:
    """What ``--extractor auto`` may look at: the generated source's info, the reference's under
    ``"reference"``, and in each a ``"sample"`` function giving up to n of its images (uint8 N×3×H×W)."""
    info = SourceInfo(generated.info(), sample=_sampler(generated))
    if reference is not None:
        info["reference"] = {**reference.info(), "sample": _sampler(reference)}
    return info


def _sampler(source: Source) -> Callable[[int], Any]:
    return lambda n: source.read(0, min(n, len(source))).images


def select_extractor(
    registry: Registry,
    name: str,
    params: Mapping[str, Any],
    info: SourceInfo,
    device: torch.device,
    *,
    params_by_name: Mapping[str, Mapping[str, Any]] | None = None,
) -> FeatureExtractor:
    """The named extractor (with ``params``), or for ``auto`` the highest-priority one that suits the
    data and can run (each candidate with its own ``params_by_name`` entry)."""
    if name != AUTO:
        cls = registry.extractor(name)
        reason = cls.unavailable_reason(params)
        if reason:
            raise GanEvalError(f"feature extractor {name!r} cannot run: {reason}")
        return instantiate_extractor(registry, cls, device, params)
    reasons = []
    for cls in sorted(registry.extractors().values(), key=lambda c: -c.priority):
        if not cls.suits(info):
            reasons.append(f"{cls.name}: does not suit {info.get('height')}x{info.get('width')}x{info.get('channels')} images")
            continue
        own = dict((params_by_name or {}).get(cls.name, {}))
        reason = cls.unavailable_reason(own)
        if reason:
            reasons.append(f"{cls.name}: {reason}")
            continue
        return instantiate_extractor(registry, cls, device, own)
    detail = "; ".join(reasons) or "no feature extractor plugin is installed"
    raise GanEvalError(f"--extractor auto found no usable feature extractor ({detail})")


def instantiate_extractor(registry: Registry, cls: type[FeatureExtractor], device: torch.device, params: Mapping[str, Any]) -> FeatureExtractor:
    """``cls(device, **params)`` with the fast-mode parameters of the current numerics; a failure
    names the plugin."""
    params = dict(params)
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


#: Hook for reference caching: (source, bound metrics, run) -> PassResult.
ReferencePass = Callable[[Source, list[Bound], Callable[[Source, list[Bound]], PassResult]], PassResult]


def _direct_reference(source: Source, metrics: list[Bound], run: Callable[[Source, list[Bound]], PassResult]) -> PassResult:
    return run(source, metrics)


@dataclass
class ScoreOutcome:
    """Results plus the facts the record needs about inputs and extractors."""

    results: list[dict[str, Any]]
    inputs: dict[str, dict[str, Any]]
    #: The identity of the run's extractor when it has one, else of the first (records of 0.1 had one).
    extractor: dict[str, Any] | None
    warnings: list[str]
    device: str
    #: The first images of each input's pass (uint8 N×3×H×W), for the record's sample grids.
    previews: dict[str, Any] = field(default_factory=dict)
    #: Every extractor the run used, by name.
    extractors: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Each result's generated and reference State, by result name (for intervals and comparisons).
    states: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    #: Each result's metric instance, by result name.
    metrics: dict[str, Metric] = field(default_factory=dict)


class Job:
    """One scoring job: its bound metrics, sources and extractors, and the passes that feed them.

    Build it inside :func:`numerics.numerics` (``score`` and ``reference_statistics`` do). Sources
    may be given already opened (in-memory tensors from the Python API), else they are opened from
    the config's specs.
    """

    def __init__(
        self,
        registry: Registry,
        config: ScoreConfig,
        *,
        generated: Source | None = None,
        reference: Source | None = None,
        need_generated: bool = True,
    ):
        self.registry, self.config = registry, config
        self.notes: list[str] = []
        self.device = resolve_device(config.device)
        self.generated = generated
        if self.generated is None and need_generated:
            self.generated = open_source(registry, config.generated, config.options())
        self.ref_stats = None
        self.reference = reference
        if reference is None and config.reference:
            ref_file = stats_files.stats_path(config.reference)  # --ref stats:FILE
            if ref_file is not None:
                self.ref_stats = stats_files.read_stats(ref_file)
            else:
                self.reference = open_source(registry, config.reference, config.ref_options())
        extra = dict((config.source_options or {}).get("extra") or {})
        validate_source_options([s for s in (self.generated, self.reference) if s is not None], extra)
        self.bound = self._bind()
        self.plugin_of = {b.key: registry.provider("metrics", b.metric.name) for b in self.bound}

    # --- binding ------------------------------------------------------------------------------------
    def _metric_specs(self) -> list[str]:
        has_reference = self.reference is not None or self.ref_stats is not None
        chosen = list(self.config.metrics) if self.config.metrics is not None else default_metrics(self.registry, has_reference)
        if not chosen:
            raise UsageError("no metric selected: pass at least one -m NAME (see 'gan-eval plugins')")
        return chosen

    def _bind(self) -> list[Bound]:
        specs = self._metric_specs()
        parsed = [split_metric(spec) for spec in specs]
        classes = {name: self.registry.metric(name) for name, _ in parsed}
        wants_auto = any(ext is None and classes[name].requires & FEATURE_INPUTS for name, ext in parsed)
        names = {ext for _, ext in parsed if ext is not None}
        default_extractor = None
        if wants_auto:
            default_extractor = self._default_extractor()
            names.add(default_extractor.name)
        extractors = {name: self._extractor(name) for name in sorted(names - {getattr(default_extractor, "name", None)})}
        if default_extractor is not None:
            extractors[default_extractor.name] = default_extractor
        self._check_extractor_params(extractors)
        self._check_precomputed(extractors, [classes[name] for name, _ in parsed])
        self.extractors = extractors
        bound: list[Bound] = []
        for (name, ext_name), spec in zip(parsed, specs):
            cls = classes[name]
            if not cls.requires & FEATURE_INPUTS:
                if ext_name is not None:
                    raise UsageError(f"metric {name!r} reads images, not features: drop '@{ext_name}' from {spec!r}")
                extractor = None
            else:
                extractor = extractors[ext_name] if ext_name is not None else default_extractor
                assert extractor is not None  # wants_auto made the default extractor
                lacking = (cls.requires & FEATURE_INPUTS) - extractor.outputs
                if lacking:
                    raise UsageError(f"extractor {extractor.name!r} provides only {sorted(extractor.outputs)}; metric {name!r} needs {sorted(lacking)}")
            key = name if extractor is None else f"{name}@{extractor.name}"
            if any(b.key == key for b in bound):
                raise UsageError(f"metric {key!r} is listed twice")
            bound.append(Bound(key, self._metric(cls, key), extractor))
        unknown = set(self.config.metric_params) - {b.key for b in bound} - {b.metric.name for b in bound}
        if unknown:
            raise UsageError(f"-O given for metric(s) not selected with -m: {', '.join(sorted(unknown))} (selected: {', '.join(b.key for b in bound)})")
        required = [b.key for b in bound if b.metric.reference == "required"]
        if required and self.reference is None and self.ref_stats is None and self.generated is not None:
            raise UsageError(f"metric(s) {', '.join(required)} need a reference: pass --ref REFERENCE")
        for extractor in extractors.values():
            if not extractor.standard and any(b.extractor is extractor for b in bound):
                self.notes.append(
                    f"feature extractor {extractor.name!r} is not the standard Inception network: values computed in its "
                    "feature space are comparable only with values computed with the same extractor, not with published numbers"
                )
        return bound

    def _metric(self, cls: type[Metric], key: str) -> Metric:
        name = cls.name
        params = {**self.config.metric_params.get(name, {}), **self.config.metric_params.get(key, {})}
        if "seed" in getattr(cls, "params", {}) and "seed" not in params:
            params["seed"] = self.config.seed
        try:
            return cls(**params)
        except GanEvalError:
            raise
        except Exception as exc:
            raise PluginError(self.registry.provider("metrics", name), f"metric {name!r} failed to initialise: {type(exc).__name__}: {exc}") from exc

    def _default_extractor(self) -> FeatureExtractor:
        name = self.config.extractor
        if name == AUTO and self.ref_stats is not None:
            recorded = stats_files.recorded_extractor(self.ref_stats)
            if recorded is not None:  # the statistics fix the feature space: the file's extractor wins
                self.notes.append(f"--extractor auto: using {recorded!r}, the extractor {self.ref_stats.path} was made with")
                name = recorded
        recorded_outputs = self.generated.outputs_identity if self.generated is not None else None
        if name == AUTO and recorded_outputs is not None:  # features: the file's extractor made them
            name = str(recorded_outputs.get("extractor"))
        if name != AUTO:
            return self._extractor(name)
        generated, reference = (self.generated, self.reference) if self.generated is not None else (self.reference, None)
        if generated is None:
            raise UsageError("--extractor auto needs images to look at; name the extractor with --extractor")
        return select_extractor(self.registry, AUTO, {}, selection_info(generated, reference), self.device, params_by_name=self.config.extractor_params)

    def _extractor(self, name: str) -> FeatureExtractor:
        return select_extractor(self.registry, name, self.config.extractor_params.get(name, {}), SourceInfo(), self.device)

    def _check_precomputed(self, extractors: Mapping[str, FeatureExtractor], classes: list[type[Metric]]) -> None:
        """A source of earlier extractor outputs (``features:``) serves only metrics of that extractor,
        and only if this run's extractor is the same one (weights, profile, parameters)."""
        for source in (self.generated, self.reference):
            recorded = source.outputs_identity if source is not None else None
            if recorded is None or source is None:
                continue
            if any(not cls.requires & FEATURE_INPUTS for cls in classes):
                raise UsageError(f"{source.spec} holds extractor outputs, not images: metrics that read images cannot use it")
            name = recorded.get("extractor")
            current = extractors.get(str(name))
            if current is None or stats_files.comparable(current.identity()) != stats_files.comparable(recorded):
                raise UsageError(
                    f"{source.spec} holds features of {stats_files.summary(recorded)}, this run uses "
                    f"{stats_files.summary(current.identity()) if current else 'other extractors'}: they are not comparable"
                )

    def _check_extractor_params(self, used: Mapping[str, FeatureExtractor]) -> None:
        """An ``-O EXTRACTOR.PARAM`` for an extractor this run does not use is an error, never ignored."""
        unused = sorted(set(self.config.extractor_params) - set(used))
        if unused:
            given = ", ".join(f"{name}.{param}" for name in unused for param in self.config.extractor_params[name])
            chosen = ", ".join(sorted(used)) or "none (no selected metric uses features)"
            raise UsageError(
                f"-O {given}: extractor {', '.join(unused)} is not used by this run (extractors used: {chosen}); "
                "select it with --extractor NAME or -m METRIC@NAME"
            )

    # --- passes ---------------------------------------------------------------------------------------
    def runner(
        self,
        *,
        shard: Shard = Shard(),
        progress_factory: Callable[[str, int], Callable[[int], None] | None] | None = None,
        sync: Callable[[PassResult], PassResult] | None = None,
        resume_dir: str | None = None,
        resume_every: int = 50,
    ) -> Callable[[Source, list[Bound]], PassResult]:
        """A function running one pass of ``source`` for a subset of the bound metrics."""
        self._snapshots: list[PassCheckpoint] = []

        def run(source: Source, subset: list[Bound]) -> PassResult:
            start, stop = shard.bounds(len(source), self.config.batch_size)
            tick = progress_factory(source.spec, stop - start) if progress_factory else None
            checkpoint = _pass_checkpoint(resume_dir, resume_every, source, subset, self.config, shard)
            if checkpoint is not None:
                self._snapshots.append(checkpoint)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = run_pass(
                    source,
                    subset,
                    batch_size=self.config.batch_size,
                    device=self.device,
                    shard=shard,
                    workers=self.config.workers,
                    cpu_streams=self.config.cpu_streams,
                    progress=tick,
                    plugin_of=self.plugin_of,
                    checkpoint=checkpoint,
                    blocks=self.config.state_blocks(),
                )
            self.notes.extend(str(w.message) for w in caught if str(w.message) not in self.notes)
            return sync(result) if sync else result

        return run

    def reference_metrics(self) -> list[Bound]:
        return [b for b in self.bound if b.metric.uses_reference()]

    def reference_pass(
        self,
        run: Callable[[Source, list[Bound]], PassResult],
        *,
        distributed: bool = False,
        reference_guard: Callable[[ReferencePass], ReferencePass] | None = None,
    ) -> PassResult | None:
        """The reference's states: from the stats file, else from the cache or a pass."""
        subset = self.reference_metrics() if (self.reference is not None or self.ref_stats is not None) else []
        if not subset:
            return None
        if self.ref_stats is not None:
            explicit = self.config.metrics is not None
            return stats_files.reference_pass(self.ref_stats, subset, self.notes, drop_missing=not explicit)
        reference_pass: ReferencePass = _direct_reference
        if self.config.use_cache and (not distributed or reference_guard is not None):
            reference_pass = cached_reference_pass(ReferenceCache(note=self.notes.append), blocks=self.config.state_blocks())
        if reference_guard is not None:
            reference_pass = reference_guard(reference_pass)
        assert self.reference is not None  # subset is empty without a reference
        return reference_pass(self.reference, subset, run)

    def clear_snapshots(self) -> None:
        for checkpoint in getattr(self, "_snapshots", []):  # the job is complete: its snapshots are no longer needed
            checkpoint.clear()

    # --- results --------------------------------------------------------------------------------------
    def outcome(self, gen_pass: PassResult, ref_pass: PassResult | None) -> ScoreOutcome:
        assert self.generated is not None  # only jobs that scored a generated set have an outcome
        results, states = [], {}
        for b in self.bound:
            if ref_pass is not None and b.metric.reference == "required" and b.key not in ref_pass.states:
                continue  # a stats file without this metric: left out, with a note (stats_files)
            ref_state = ref_pass.states.get(b.key) if ref_pass and b.metric.uses_reference() else None
            results.append(compute_result(b, gen_pass.states[b.key], ref_state, self.plugin_of[b.key], self.notes, self.config))
            states[b.key] = (gen_pass.states[b.key], ref_state)
        inputs = {"generated": input_record(self.generated, gen_pass, self.config.options())}
        if self.ref_stats is not None:
            inputs["reference"] = stats_files.input_record(self.ref_stats, ref_pass)
        elif self.reference is not None:
            inputs["reference"] = (
                input_record(self.reference, ref_pass, self.config.ref_options())
                if ref_pass
                else {**self.reference.info(), "spec": self.reference.spec, "used": False}
            )
        previews = {"generated": gen_pass.preview, "reference": ref_pass.preview if ref_pass else None}
        identities = {name: e.identity() for name, e in self.extractors.items()}
        first = next(iter(identities.values()), None)
        metrics = {b.key: b.metric for b in self.bound if b.key in states}
        return ScoreOutcome(results, inputs, first, self.notes, str(self.device), previews, identities, states, metrics)


def score(
    registry: Registry,
    config: ScoreConfig,
    *,
    generated: Source | None = None,
    reference: Source | None = None,
    shard: Shard = Shard(),
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
    with in_numerics(config):
        job = Job(registry, config, generated=generated, reference=reference)
        assert job.generated is not None  # need_generated: the Job opened it
        run = job.runner(shard=shard, progress_factory=progress_factory, sync=sync, resume_dir=resume_dir, resume_every=resume_every)
        gen_pass = run(job.generated, job.bound)
        if gen_pass.count == 0:
            raise GanEvalError(f"{job.generated.spec}: no images could be read ({len(gen_pass.skipped)} skipped)")
        ref_pass = job.reference_pass(run, distributed=shard.world > 1, reference_guard=reference_guard)
        outcome = job.outcome(gen_pass, ref_pass)
        job.clear_snapshots()
        return outcome


def in_numerics(config: ScoreConfig) -> ExitStack:
    """The numerics scope (exact or fast TF32/cuDNN settings) a config asks for."""
    if config.numerics not in numerics.MODES:
        raise UsageError(f"numerics {config.numerics!r} must be one of {', '.join(numerics.MODES)}")
    stack = ExitStack()
    stack.enter_context(numerics.numerics(config.numerics))
    return stack


def compute_result(
    bound: Bound,
    generated: Any,
    reference: Any,
    plugin: str,
    notes: list[str],
    config: ScoreConfig | None = None,
) -> dict[str, Any]:
    """One metric's entry in the record: its values (all finite), intervals, warnings, details and
    description."""
    metric = bound.metric
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            values = metric.compute(generated, reference)
        except GanEvalError:
            raise
        except Exception as exc:
            raise PluginError(plugin, f"metric {metric.name!r} failed in compute(): {type(exc).__name__}: {exc}") from exc
    values = _checked_values(metric, values, plugin)
    metric_notes = [str(w.message) for w in caught]
    notes.extend(f"{bound.key}: {n}" for n in metric_notes)
    intervals: dict[str, Any] = {}
    if config is not None and config.bootstrap > 0:
        intervals = _intervals(bound, generated, reference, values, config, plugin, notes)
    return {
        "name": bound.key,
        **metric.describe(),
        "plugin": plugin,
        "extractor": bound.extractor.name if bound.extractor is not None else None,
        "values": values,
        "intervals": intervals,
        "warnings": metric_notes,
        **metric_details(metric, generated, reference, plugin),
    }


def _intervals(bound: Bound, generated: Any, reference: Any, values: dict[str, float], config: ScoreConfig, plugin: str, notes: list[str]) -> dict[str, Any]:
    """Bootstrap intervals of every value (resampling the states' rows or blocks, never the network);
    a metric that cannot have them gets a note saying why."""
    reason = why_no_intervals(bound.metric, generated, reference)
    if reason is not None:
        notes.append(f"{bound.key}: no confidence interval: {reason}")
        return {}
    try:
        found = metric_intervals(bound.metric, generated, reference, resamples=config.bootstrap, level=config.ci, seed=config.seed, values=values)
    except GanEvalError:
        raise
    except Exception as exc:
        raise PluginError(plugin, f"metric {bound.metric.name!r} failed while resampling for intervals: {type(exc).__name__}: {exc}") from exc
    outside = [key for key, iv in found.items() if not iv.low <= values[key] <= iv.high]
    if outside:
        notes.append(
            f"{bound.key}: the bootstrap interval of {', '.join(outside)} does not contain the value itself: the "
            "resampled sets behave unlike the full one (too few images for this metric and feature size); "
            "treat the value and its interval as unreliable"
        )
    return {key: interval.as_dict() for key, interval in found.items()}


def _checked_values(metric: Metric, values: Any, plugin: str) -> dict[str, float]:
    """``compute()``'s result as ``{str: finite float}``, or a PluginError saying what is wrong."""
    if not isinstance(values, Mapping) or not values:
        raise PluginError(plugin, f"metric {metric.name!r}: compute() must return a non-empty dict of numbers, got {type(values).__name__}")
    checked: dict[str, float] = {}
    for key, value in values.items():
        if not isinstance(key, str):
            raise PluginError(plugin, f"metric {metric.name!r}: compute() returned a non-string key {key!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise PluginError(plugin, f"metric {metric.name!r}: value {key!r} is not a number ({type(value).__name__}: {value!r:.60})") from None
        if not math.isfinite(number):
            raise PluginError(plugin, f"metric {metric.name!r} produced non-finite value {key}={number} (inputs may contain NaN/Inf, or too few images)")
        checked[key] = number
    return checked


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
    except (TypeError, ValueError, RecursionError) as exc:
        raise PluginError(plugin, f"metric {metric.name!r}: details() must return JSON data without NaN/Inf ({exc})") from exc
    if len(text) > MAX_DETAILS_CHARS:
        raise PluginError(
            plugin,
            f"metric {metric.name!r}: details() returned {len(text):,} characters of JSON (limit {MAX_DETAILS_CHARS:,}): store a summary such as a histogram",
        )
    return {"details": json.loads(text)}


def _pass_checkpoint(
    directory: str | None,
    every: int,
    source: Source,
    bound: Sequence[Bound],
    config: ScoreConfig,
    shard: Shard,
) -> PassCheckpoint | None:
    """A snapshot location keyed by everything that determines this pass's state."""
    if directory is None:
        return None
    key = {
        "source": source.spec,
        "fingerprint": source.fingerprint(),
        "metrics": [[b.key, b.metric.describe(), b.extractor.identity() if b.extractor is not None else None] for b in bound],
        "batch_size": config.batch_size,
        "shard": [shard.rank, shard.world],
        "version": __version__,
    }
    return PassCheckpoint(directory, key, every)


def input_record(source: Source, result: PassResult, options: SourceOptions | None = None) -> dict[str, Any]:
    record = {
        **source.info(),
        "spec": source.spec,
        "fingerprint": source.fingerprint(),
        "count": result.count,
        "skipped": [dataclasses.asdict(s) for s in result.skipped],
    }
    if options is not None and options.limit is not None:
        record["limit"] = options.limit
    return record


__all__ = [
    "AUTO",
    "DEFAULT_METRICS",
    "Job",
    "ScoreConfig",
    "ScoreOutcome",
    "compute_result",
    "default_metrics",
    "in_numerics",
    "input_record",
    "resolve_device",
    "result_name",
    "score",
    "selection_info",
    "split_metric",
]
