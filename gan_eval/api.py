"""The library face of gan-eval: :func:`evaluate`, :class:`Evaluator`, :func:`features`,
:func:`reference_statistics`, :func:`verify_record`. The CLI and the trainers call only these.

Nothing here changes the caller's world: global RNG states (torch, CUDA, numpy, random), grad mode
and TF32 flags are restored after every call, and a caller's modules are never put in train/eval.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import torch

from . import distributed
from .bootstrap import DEFAULT_RESAMPLES
from .engine import Bound, PassResult, Shard, accumulate
from .errors import GanEvalError, UsageError
from .memory import GeneratorSource, TensorSource, to_rgb_batch
from .plugins import Registry, load_registry
from .record import build_record, now
from .scoring import AUTO, Job, ScoreConfig, ScoreOutcome, default_resamples, in_numerics, score
from .metric import Metric
from .source import Batch, Source, SourceOptions

#: What ``generated`` / ``reference`` may be: a spec string, images, a Source, or a generator callable.
Input = Any
MEMORY_PREFIX = "memory:"


# --- results ------------------------------------------------------------------------------------------
class Result(Mapping[str, Mapping[str, float]]):
    """The values of a run, by result name: ``result["fid@inception"]["fid"]``.

    ``values`` is the flat view (``{"fid@inception.fid": ...}``), ``intervals`` the confidence
    intervals by result and value, ``warnings`` every warning of the run, ``record`` the run record
    (the JSON document ``gan-eval score --out`` writes; ``to_json()`` serialises it).
    """

    def __init__(self, record: dict[str, Any], outcome: ScoreOutcome | None = None):
        self.record = record
        self.outcome = outcome
        self._by_name = {r["name"]: dict(r["values"]) for r in record["results"]}

    def __getitem__(self, name: str) -> Mapping[str, float]:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no result {name!r} (results: {', '.join(self._by_name)})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    @property
    def values(self) -> dict[str, float]:  # type: ignore[override]
        return {f"{name}.{key}": value for name, values in self._by_name.items() for key, value in values.items()}

    @property
    def intervals(self) -> dict[str, dict[str, dict[str, Any]]]:
        return {r["name"]: r["intervals"] for r in self.record["results"] if r.get("intervals")}

    @property
    def warnings(self) -> list[str]:
        return list(self.record.get("warnings", []))

    @property
    def extractors(self) -> dict[str, dict[str, Any]]:
        return dict(self.record.get("extractors", {}))

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.record, allow_nan=False, **{"indent": 2, **kwargs})

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.6g}" for k, v in self.values.items())
        return f"Result({shown})"


# --- options ------------------------------------------------------------------------------------------
def split_options(registry: Registry, options: Mapping[str, Any] | None) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """``{"kid.subsets": 50, "mnist-cnn": {"weights": "w.pt"}}`` → (metric params, extractor params).

    An owner is a metric (``kid``, or a binding ``fid@inception``) or an extractor; anything else is
    an error naming it, so a typo never silently runs the default.
    """
    nested: dict[str, dict[str, Any]] = {}
    for key, value in (options or {}).items():
        if isinstance(value, Mapping):
            nested.setdefault(str(key), {}).update(value)
            continue
        owner, dot, param = str(key).rpartition(".")
        if not dot or not owner or not param:
            raise UsageError(f"option {key!r} must look like PLUGIN.PARAM (e.g. kid.subsets)")
        nested.setdefault(owner, {})[param] = value
    metric_params: dict[str, dict[str, Any]] = {}
    extractor_params: dict[str, dict[str, Any]] = {}
    metrics, extractors = registry.metrics(), registry.extractors()
    for owner, params in nested.items():
        if owner.partition("@")[0] in metrics:
            metric_params[owner] = params
        elif owner in extractors:
            extractor_params[owner] = params
        else:
            raise UsageError(
                f"option {owner}.{next(iter(params))}: {owner!r} is neither a metric nor a feature extractor "
                f"(metrics: {', '.join(sorted(metrics))}; extractors: {', '.join(sorted(extractors))})"
            )
    return metric_params, extractor_params


# --- caller-state hygiene --------------------------------------------------------------------------------
@contextlib.contextmanager
def preserved_caller_state(device: torch.device | None = None) -> Iterator[None]:
    """Restore every global RNG state (torch CPU and CUDA, numpy, random) and the grad mode after."""
    py_state, np_state = random.getstate(), np.random.get_state()
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() and torch.cuda.is_initialized() else []
    grad = torch.is_grad_enabled()
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
            torch.set_grad_enabled(grad)


# --- inputs ---------------------------------------------------------------------------------------------
def _spec_and_source(
    value: Input, label: str, options: SourceOptions, *, latent: Any, count: int | None, labels: Any = None
) -> tuple[str | None, Source | None]:
    """(spec for the record, opened source or None when the engine opens the spec itself)."""
    if value is None:
        return None, None
    if isinstance(value, str):
        if not value.strip():
            raise UsageError(f"{label}: empty source spec (an unset shell variable?)")
        return value, None
    if isinstance(value, Source):
        return value.spec, value
    source: Source
    if isinstance(value, (torch.Tensor, np.ndarray)):
        source = TensorSource(value, options, labels=labels, name=label)
    elif callable(value):
        if latent is None:
            raise UsageError(f"{label}: a generator callable needs latent=SIZE (or a shape) and count=N")
        source = GeneratorSource(value, latent, count or 0, options)
    else:
        raise UsageError(f"{label}: expected a spec string, a tensor/array of images, a Source or a generator callable, got {type(value).__name__}")
    return f"{MEMORY_PREFIX}{source.spec}", source


def progress_bars(enabled: bool) -> Callable[[str, int], Callable[[int], None]] | None:
    """tqdm bars on stderr (never stdout: results go there)."""
    if not enabled:
        return None
    from tqdm import tqdm

    def factory(label: str, total: int) -> Callable[[int], None]:
        bar = tqdm(total=total, desc=label[-40:], unit="img", file=sys.stderr, leave=False, dynamic_ncols=True)
        return bar.update

    return factory


# --- evaluate -------------------------------------------------------------------------------------------
def evaluate(
    generated: Input,
    reference: Input = None,
    metrics: Sequence[str] | None = None,
    *,
    extractor: str = AUTO,
    options: Mapping[str, Any] | None = None,
    device: str = "auto",
    batch_size: int = 64,
    seed: int = 0,
    cache: bool = True,
    progress: bool = False,
    fast: bool = False,
    value_range: str | None = None,
    latent: int | Sequence[int] | None = None,
    count: int | None = None,
    limit: int | None = None,
    limit_ref: int | None = None,
    source_options: Mapping[str, Any] | None = None,
    labels: Any = None,
    workers: int | str = "auto",
    cpu_streams: int | str = "auto",
    plugins: Sequence[str] = (),
    resume_dir: str | None = None,
    resume_every: int = 50,
    registry: Registry | None = None,
    bootstrap: int | None = None,
    ci: float = 0.95,
) -> Result:
    """Score ``generated`` (against ``reference``) with ``metrics`` in one call.

    ``generated``/``reference``: a spec string (``"samples/"``, ``"dataset:mnist5k:train"``,
    ``"stats:ref.npz"``), images (uint8 N×C×H×W or N×H×W×C tensor/array, or float with
    ``value_range="-1,1"``/``"0,1"``), a :class:`Source`, or a generator callable ``f(z)`` with
    ``latent`` and ``count``. ``metrics``: names, bare (``"fid"``: the ``extractor``, ``auto`` by
    default) or bound (``"fid@inception"``); None: the defaults that apply. ``options``:
    ``{"kid.subsets": 50, "inception.weights": "pt_inception.pth"}``.
    """
    registry = registry or load_registry(plugins)
    config = _config(
        registry,
        metrics=metrics,
        options=options,
        source_options=source_options,
        fast=fast,
        bootstrap=bootstrap,
        plugins=plugins,
        input_options={"limit": limit, "value_range": value_range, "count": count},
        extractor=extractor,
        batch_size=int(batch_size),
        device=device,
        workers=workers,
        cpu_streams=cpu_streams,
        reference_options={"limit": limit_ref},
        use_cache=cache,
        seed=int(seed),
        ci=float(ci),
    )
    gen_spec, gen_source = _spec_and_source(generated, "generated", config.options(), latent=latent, count=count, labels=labels)
    ref_spec, ref_source = _spec_and_source(reference, "reference", config.ref_options(), latent=latent, count=count)
    if gen_spec is None:
        raise UsageError("nothing to score: pass the generated images")
    config.generated, config.reference = gen_spec, ref_spec
    return run_config(registry, config, generated=gen_source, reference=ref_source, progress=progress, resume_dir=resume_dir, resume_every=resume_every)


#: SourceOptions fields a ``source_options`` mapping may set directly (the rest are source-specific).
_SHARED_OPTIONS = ("skip_bad", "resize")


def _config(
    registry: Registry,
    *,
    metrics: Sequence[str] | None = None,
    options: Mapping[str, Any] | None = None,
    source_options: Mapping[str, Any] | None = None,
    input_options: Mapping[str, Any] | None = None,
    for_reference: bool = False,
    fast: bool = False,
    bootstrap: int | None = None,
    plugins: Sequence[str] = (),
    **fields: Any,
) -> ScoreConfig:
    """The ScoreConfig of an API call: ``options`` split into metric and extractor parameters,
    ``source_options`` into the shared SourceOptions fields (``skip_bad``, ``resize``) and
    source-specific extras, joined to ``input_options`` (limit, range, count) of the generated input,
    or of the reference ``for_reference`` (``reference_statistics``)."""
    metric_params, extractor_params = split_options(registry, options)
    given = dict(source_options or {})
    shared = {key: given.pop(key) for key in _SHARED_OPTIONS if key in given}
    input_fields = {**(input_options or {}), **shared, "extra": {str(k): str(v) for k, v in given.items()}}
    placed: dict[str, Any] = {"reference_options": input_fields} if for_reference else {"source_options": input_fields}
    return ScoreConfig(
        generated="",
        metrics=list(metrics) if metrics is not None else None,
        metric_params=metric_params,
        extractor_params=extractor_params,
        plugin_files=[str(Path(p)) for p in plugins],
        numerics="fast" if fast else "exact",
        bootstrap=default_resamples() if bootstrap is None else int(bootstrap),
        **placed,
        **fields,
    )


def run_config(
    registry: Registry,
    config: ScoreConfig,
    *,
    generated: Source | None = None,
    reference: Source | None = None,
    progress: bool = False,
    resume_dir: str | None = None,
    resume_every: int = 50,
) -> Result:
    """Score a :class:`ScoreConfig` (what ``gan-eval score`` and ``verify`` run); under torchrun each
    process scores its share and every rank gets the same Result."""
    started = now()
    with preserved_caller_state(), distributed.session_if_requested(config.device) as session:
        options: dict[str, Any] = {"resume_dir": resume_dir, "resume_every": resume_every}
        if session is not None:
            options = session.score_options(options)
        primary = session is None or session.world.primary
        outcome = score(registry, config, generated=generated, reference=reference, progress_factory=progress_bars(progress and primary), **options)
        record = build_record(
            config=config.as_dict(),
            outcome=outcome,
            started=started,
            plugins=[p.as_dict() for p in registry.plugins.values()],
            extra=session.record_extra() if session is not None else None,
        )
    return Result(record, outcome)


# --- streaming ------------------------------------------------------------------------------------------
class Evaluator:
    """Streaming evaluation for training loops: ``update(images)`` batch by batch, then ``compute()``.

    The reference is prepared once (from the cache when it can) and kept across :meth:`reset`.
    Images are uint8 N×C×H×W / N×H×W×C, or float in ``value_range`` (default ``"-1,1"``), on any
    device. Under an initialised ``torch.distributed`` process group each rank updates with its own
    batches and ``compute()`` merges the states, so every rank gets the same Result.
    """

    def __init__(
        self,
        metrics: Sequence[str] | None = None,
        reference: Input = None,
        *,
        extractor: str = AUTO,
        options: Mapping[str, Any] | None = None,
        device: str = "auto",
        seed: int = 0,
        cache: bool = True,
        fast: bool = False,
        value_range: str = "-1,1",
        layout: str | None = None,
        batch_size: int = 64,
        plugins: Sequence[str] = (),
        registry: Registry | None = None,
        limit_ref: int | None = None,
        bootstrap: int | None = None,
        ci: float = 0.95,
    ):
        self.registry = registry or load_registry(plugins)
        self.config = _config(
            self.registry,
            metrics=metrics,
            options=options,
            fast=fast,
            bootstrap=bootstrap,
            plugins=plugins,
            extractor=extractor,
            batch_size=int(batch_size),
            device=device,
            workers=0,
            reference_options={"limit": limit_ref},
            use_cache=cache,
            seed=int(seed),
            ci=float(ci),
        )
        self.config.generated = f"{MEMORY_PREFIX}evaluator"
        self.value_range, self.layout = value_range, layout
        ref_spec, self._ref_source = _spec_and_source(reference, "reference", self.config.ref_options(), latent=None, count=None)
        self.config.reference = ref_spec
        self._job: Job | None = None
        self._ref_pass: PassResult | None = None
        self._ref_ready = False
        self.reset()

    def reset(self) -> None:
        """Forget the generated images seen so far (the reference stays prepared)."""
        self._states: dict[str, Any] | None = None
        self._count = 0
        self._batches = 0
        self._preview: list[np.ndarray] = []

    def _ensure_job(self, first: Any, value_range: str | None) -> Job:
        """Bind metrics to extractors on the first batch (``auto`` looks at it, as at a folder)."""
        if self._job is None:
            sample = TensorSource(first, SourceOptions(value_range=value_range), name="evaluator", layout=self.layout)
            with in_numerics(self.config):
                self._job = Job(self.registry, self.config, generated=sample, reference=self._ref_source)
        return self._job

    def update(self, images: Any, labels: Any = None) -> None:
        """Accumulate one batch of generated images (never kept, only the metrics' states)."""
        with preserved_caller_state():
            value_range = self.value_range if _is_float(images) else None
            batch = to_rgb_batch(images, "Evaluator.update", value_range, self.layout)
            if not len(batch):
                return
            job = self._ensure_job(images, value_range)
            if self._states is None:
                self._states = {b.key: b.metric.new_state(self.config.state_blocks()) for b in job.bound}
            with in_numerics(self.config), torch.inference_mode():
                labels_np = None if labels is None else np.asarray(labels.detach().cpu() if isinstance(labels, torch.Tensor) else labels, dtype=np.int64)
                accumulate(job.bound, self._states, Batch(batch, labels=labels_np), job.device, job.plugin_of, first_index=self._count)
            if self._count < 64:
                self._preview.append(batch[: 64 - self._count].copy())
            self._count += len(batch)
            self._batches += 1

    def compute(self) -> Result:
        """The Result of everything updated since the last :meth:`reset` (states are kept: compute
        again after more updates)."""
        if self._job is None or self._states is None or self._count == 0:
            raise UsageError("Evaluator.compute(): no images were given to update() since the last reset()")
        started = now()
        job = self._job
        with preserved_caller_state(), in_numerics(self.config):
            session = _current_session(job.device)
            gen_pass = PassResult(dict(self._states), self._count, [], np.concatenate(self._preview) if self._preview else None)
            if session is not None:
                gen_pass = session.sync_pass(gen_pass)
            if not self._ref_ready:
                shard, sync, guard = (Shard(), None, None) if session is None else (session.world.shard, session.sync_pass, session.reference_pass)
                run = job.runner(shard=shard, sync=sync)
                self._ref_pass = job.reference_pass(run, distributed=session is not None, reference_guard=guard)
                self._ref_ready = True
            outcome = job.outcome(gen_pass, self._ref_pass)
            outcome.inputs["generated"].update({"kind": "evaluator", "spec": f"{MEMORY_PREFIX}evaluator", "count": gen_pass.count})
            outcome.inputs["generated"].pop("fingerprint", None)
        record = build_record(
            config=self.config.as_dict(),
            outcome=outcome,
            started=started,
            plugins=[p.as_dict() for p in self.registry.plugins.values()],
            extra=session.record_extra() if session is not None else None,
        )
        return Result(record, outcome)


def _is_float(images: Any) -> bool:
    dtype = images.dtype
    return (isinstance(dtype, torch.dtype) and dtype.is_floating_point) or (isinstance(dtype, np.dtype) and dtype.kind == "f")


def _current_session(device: torch.device) -> "distributed.Session | None":
    """A Session over the caller's initialised process group, when there is one with several ranks."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return None
    world = distributed.World(dist.get_rank(), dist.get_world_size(), int(__import__("os").environ.get("LOCAL_RANK", dist.get_rank())))
    comm = device if dist.get_backend() == "nccl" else torch.device("cpu")
    return distributed.Session(world, comm)


# --- features and statistics ------------------------------------------------------------------------------
class _Rows(Metric):
    """Collects an extractor's outputs row by row (the engine's state machinery does the rest)."""

    name, primary, reference = "rows", "count", "unused"

    def __init__(self, outputs: frozenset[str]):
        super().__init__()
        self.requires = frozenset({"features"}) | (outputs & {"logits"})  # type: ignore[misc]

    def state_spec(self) -> dict[str, Any]:
        return {name: "cat" for name in (*sorted(self.requires), "labels")}

    def update(self, state: Any, inputs: Mapping[str, torch.Tensor]) -> None:
        for name in self.requires:
            state.append(name, inputs[name].detach().float().cpu())
        if "labels" in inputs:
            state.append("labels", inputs["labels"].cpu())

    def compute(self, generated: Any, reference: Any) -> dict[str, float]:
        return {"count": float(len(generated.get("features")))}


def features(
    source: Input,
    out: str | Path | None = None,
    *,
    extractor: str = AUTO,
    options: Mapping[str, Any] | None = None,
    device: str = "auto",
    batch_size: int = 64,
    limit: int | None = None,
    source_options: Mapping[str, Any] | None = None,
    fast: bool = False,
    progress: bool = False,
    cpu_streams: int | str = "auto",
    plugins: Sequence[str] = (),
    registry: Registry | None = None,
) -> dict[str, Any]:
    """The extractor's outputs (``features``, ``logits`` when it gives them) and the labels of every
    image of ``source``; with ``out``, also written as a feature file (gan_eval/features_file.py) that
    other tools read and ``features:OUT`` scores again."""
    from .atomic import atomic_write_bytes
    from .features_file import features_bytes
    from .reading import display_name
    from .scoring import input_record, select_extractor, selection_info

    registry = registry or load_registry(plugins)
    config = _config(
        registry,
        options=options,
        source_options=source_options,
        input_options={"limit": limit},
        fast=fast,
        bootstrap=0,
        plugins=plugins,
        extractor=extractor,
        batch_size=int(batch_size),
        device=device,
        use_cache=False,
    )
    extractor_params = config.extractor_params
    if out is not None:
        planned_outputs(out=str(out), inputs=[source if isinstance(source, str) else None])
    spec, opened = _spec_and_source(source, "source", config.options(), latent=None, count=None)
    with preserved_caller_state(), in_numerics(config):
        from .engine import run_pass
        from .scoring import resolve_device
        from .specs import open_source

        opened = opened or open_source(registry, str(spec), config.options())
        dev = resolve_device(device)
        chosen = select_extractor(registry, extractor, extractor_params.get(extractor, {}), selection_info(opened, None), dev, params_by_name=extractor_params)
        unused = set(extractor_params) - {chosen.name}
        if unused:
            raise UsageError(f"-O {', '.join(sorted(unused))}: not the extractor used ({chosen.name})")
        collector = _Rows(chosen.outputs)
        result = run_pass(
            opened,
            [Bound("rows", collector, chosen)],
            batch_size=int(batch_size),
            device=dev,
            progress=(progress_bars(progress) or (lambda *_: None))(opened.spec, len(opened)) if progress else None,
            cpu_streams=cpu_streams,
        )
        state = result.states["rows"]
        outputs = {name: array for name in sorted(collector.requires) if (array := state.numpy(name)) is not None}
        labels = state.numpy("labels")
        record = input_record(opened, result)
        identity = chosen.identity()
        names = opened.item_names()
        if names is not None:  # the rows' items: every name but those skipped (--skip-bad)
            skipped = {s.item for s in result.skipped}
            names = [n for n in names if n not in skipped and display_name(Path(opened.target) / n) not in skipped]
    if out is not None:
        atomic_write_bytes(out, features_bytes(outputs, extractor=identity, source=record, labels=labels, names=names))
    return {"outputs": outputs, "labels": labels, "names": names, "extractor": identity, "source": record, "path": str(out) if out else None}


def reference_statistics(
    reference: Input,
    out: str | Path,
    metrics: Sequence[str] | None = None,
    *,
    extractor: str = AUTO,
    options: Mapping[str, Any] | None = None,
    device: str = "auto",
    batch_size: int = 64,
    seed: int = 0,
    cache: bool = True,
    progress: bool = False,
    fast: bool = False,
    limit: int | None = None,
    source_options: Mapping[str, Any] | None = None,
    workers: int | str = "auto",
    cpu_streams: int | str = "auto",
    plugins: Sequence[str] = (),
    resume_dir: str | None = None,
    resume_every: int = 50,
    registry: Registry | None = None,
    config: ScoreConfig | None = None,
) -> dict[str, Any]:
    """Compute ``reference``'s statistics once and write them to ``out`` (a stats ``.npz`` for
    ``--ref stats:OUT``), through the same path as scoring (numerics, fast mode, resume, cache)."""
    from . import stats_files

    registry = registry or load_registry(plugins)
    if config is None:
        config = _config(
            registry,
            metrics=metrics,
            options=options,
            source_options=source_options,
            input_options={"limit": limit},
            for_reference=True,
            fast=fast,
            plugins=plugins,
            extractor=extractor,
            batch_size=int(batch_size),
            device=device,
            workers=workers,
            cpu_streams=cpu_streams,
            use_cache=cache,
            seed=int(seed),
        )
    spec, source = _spec_and_source(reference, "reference", config.ref_options(), latent=None, count=None)
    config.reference = spec
    if config.metrics is None:
        config.metrics = [m for m in ("fid", "is", "kid", "pr") if m in registry.metrics()]
    with preserved_caller_state(), in_numerics(config):
        job = Job(registry, config, reference=source, need_generated=False)
        if job.ref_stats is not None:
            raise UsageError(f"{spec} is already a statistics file")
        unused = [b.key for b in job.bound if not b.metric.uses_reference()]
        if unused:
            raise UsageError(f"metric(s) {', '.join(unused)} never use a reference: nothing to store for them")
        run = job.runner(progress_factory=progress_bars(progress), resume_dir=resume_dir, resume_every=resume_every)
        result = job.reference_pass(run)
        if result is None or result.count == 0:
            raise GanEvalError(f"{spec}: no images could be read ({len(result.skipped) if result else 0} skipped)")
        assert job.reference is not None  # a stats-file reference was refused above
        record = {
            "spec": job.reference.spec,
            "fingerprint": job.reference.fingerprint(),
            "count": result.count,
            "skipped": [{"item": s.item, "reason": s.reason} for s in result.skipped],
            "info": job.reference.info(),
        }
        stats_files.write_stats(out, result.states, job.bound, source=record)
        job.clear_snapshots()
    return {
        "path": str(out),
        "source": record,
        "metrics": [b.key for b in job.bound],
        "extractors": sorted({b.extractor.name for b in job.bound if b.extractor is not None}),
        "warnings": job.notes,
    }


# --- outputs --------------------------------------------------------------------------------------------
@dataclass
class PlannedOutputs:
    """Output files checked before a run (writable, distinct, not an input) and written together after."""

    out: str | None = None
    html: str | None = None
    #: The metric states beside the record (``--save-states``), for ``gan-eval compare``.
    states: str | None = None


def _spec_paths(specs: Sequence[str | None]) -> list[str]:
    paths = []
    for spec in specs:
        if spec:
            paths.append(spec)
            head, sep, rest = spec.partition(":")
            if sep and rest:
                paths.append(rest.split(":")[0] if head in ("dataset",) else rest)
    return paths


def planned_outputs(*, out: str | None = None, html: str | None = None, inputs: Sequence[str | None] = (), save_states: bool = False) -> PlannedOutputs:
    """Check, before any work, that the outputs can be written and destroy nothing (an input, or
    each other); :func:`write_outputs` then commits them all or none."""
    from .atomic import check_distinct_outputs, check_writable

    if save_states and out is None:
        raise UsageError("--save-states needs --out: the states are written beside the record")
    states = states_path(out) if save_states and out is not None else None
    for path in (out, html, states):
        if path is not None:
            check_writable(path)
    check_distinct_outputs([out, html, states], _spec_paths(inputs))
    return PlannedOutputs(out, html, states)


def states_path(record_path: str | Path) -> str:
    """Where ``--save-states`` puts a record's metric states: ``RUN.json`` → ``RUN.states.npz``."""
    path = Path(record_path)
    return str(path.with_name(path.stem + ".states.npz"))


def write_outputs(outputs: PlannedOutputs, result: Result, registry: Registry | None = None) -> None:
    """Write the record and/or the HTML report of ``result``: both are replaced, or neither."""
    from .atomic import AtomicWriteGroup
    from .record import record_text

    if outputs.out is None and outputs.html is None:
        return
    with AtomicWriteGroup() as group:
        if outputs.states is not None and result.outcome is not None:
            data = states_bytes(result)
            group.write_bytes(outputs.states, data)
            result.record["states_file"] = {"path": Path(outputs.states).name, "sha256": hashlib.sha256(data).hexdigest()}
        if outputs.out is not None:
            group.write_text(outputs.out, record_text(result.record))
        if outputs.html is not None:
            group.write_text(
                outputs.html, report_html([(_label(result.record), result.record, outputs.out or "(record not saved: pass --out to keep it)")], registry)
            )


def _label(record: Mapping[str, Any]) -> str:
    return str(record.get("inputs", {}).get("generated", {}).get("spec", "run"))


def states_bytes(result: Result) -> bytes:
    """Every result's generated and reference state, as a stats file keyed ``generated|NAME`` and
    ``reference|NAME``."""
    from .stats_files import stats_bytes

    states, bound = {}, []
    outcome = result.outcome
    for name, (generated, reference) in (outcome.states if outcome else {}).items():
        metric = outcome.metrics[name]  # type: ignore[union-attr]  # outcome is set when states are
        for role, state in (("generated", generated), ("reference", reference)):
            if state is not None:
                key = f"{role}|{name}"
                states[key] = state
                bound.append(Bound(key, metric))
    return stats_bytes(states, bound, source={"count": 1, "record": "states of the run's results"})


def load_states(record_path: str | Path, record: Mapping[str, Any], registry: Registry) -> dict[str, tuple[Any, Any, Any]]:
    """{result name: (metric, generated state, reference state)} saved with ``--save-states``."""
    from .errors import InputError
    from .paths import safe_child
    from .stats_files import read_stats

    info = record.get("states_file")
    if not isinstance(info, Mapping) or not isinstance(info.get("path"), str):
        raise UsageError(f"{record_path}: the run was scored without --save-states, so its states are not saved; re-run it with --out and --save-states")
    path = safe_child(Path(record_path).resolve().parent, info["path"], record_path)
    if not path.is_file():
        raise InputError(path, "the record's states file is missing")
    if hashlib.sha256(path.read_bytes()).hexdigest() != info.get("sha256"):
        raise InputError(path, "the states file does not match the record (its SHA-256 differs)")
    stats = read_stats(path)
    loaded = {}
    for result in record.get("results", []):
        name = result.get("name")
        cls = registry.metric(str(result.get("metric")))
        metric = cls(**(result.get("params") or {}))
        arrays = {role: stats.arrays.get(f"{role}|{name}") for role in ("generated", "reference")}
        if arrays["generated"] is None:
            continue
        states = [metric.state_from_arrays(a, f"{path} ({role}|{name})") if a is not None else None for role, a in arrays.items()]
        loaded[name] = (metric, states[0], states[1])
    return loaded


def compare(
    record_a: str | Path, record_b: str | Path, *, resamples: int = DEFAULT_RESAMPLES, level: float = 0.95, seed: int = 0, plugins: Sequence[str] = ()
) -> dict[str, Any]:
    """Paired comparison of two runs from their saved states: per shared value, B − A with a
    bootstrap interval and p-value, resampling one shared reference (docs/intervals.md)."""
    from .compare import comparability, compare_states
    from .record import read_record

    registry = load_registry(plugins)
    records = [read_record(record_a), read_record(record_b)]
    reasons = comparability(*records)
    out: dict[str, Any] = {"a": str(record_a), "b": str(record_b), "comparable": not reasons, "reasons": reasons, "results": {}}
    if reasons:
        return out
    states_a, states_b = load_states(record_a, records[0], registry), load_states(record_b, records[1], registry)
    with preserved_caller_state():
        for name in [n for n in states_a if n in states_b]:
            metric, gen_a, reference = states_a[name]
            _, gen_b, _ = states_b[name]
            out["results"][name] = compare_states(metric, gen_a, gen_b, reference, resamples=resamples, level=level, seed=seed)
    return out


def is_primary() -> bool:
    """False on every torchrun rank but 0 (they hold the same results; rank 0 alone writes)."""
    return distributed.world_from_env().primary


# --- reports, plugins, verify -----------------------------------------------------------------------------
def report_html(runs: Sequence[tuple[str, dict[str, Any], str]], registry: Registry | None = None, title: str | None = None) -> str:
    """The self-contained HTML report of ``(label, record, path)`` runs."""
    from .report import ReportRun, render_report

    return render_report([ReportRun(label, record, path) for label, record, path in runs], registry or load_registry(), title)


def write_report(records: Sequence[str], out: str | Path, *, title: str | None = None, plugins: Sequence[str] = (), baseline: str | None = None) -> int:
    """Compare run records (or sweep manifests) side by side in one HTML file; returns the run count.
    ``baseline`` (a run label; default the first run) is the run the comparison table subtracts; runs
    with saved states get paired intervals from :func:`compare`."""
    from .report import load_runs, write_report as write

    runs = load_runs(records)
    planned_outputs(out=None, html=str(out), inputs=list(records))
    write(str(out), runs, load_registry(plugins), title, baseline, lambda a, b: compare(a.origin, b.origin, plugins=plugins))
    return len(runs)


def describe_plugins(plugin_files: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Every plugin with what it provides and each provided class's -O parameters (``gan-eval plugins``)."""
    registry = load_registry(plugin_files)
    described = []
    for info in registry.plugins.values():
        entry = info.as_dict()
        items = []
        for hook, names in info.provides.items():
            table = getattr(registry, hook)()
            for name in names:
                item = table[name]
                summary = getattr(item, "summary", "") or (getattr(item, "help", "") or "").split("\n")[0]
                params = (
                    [
                        {"name": pname, "type": type(p.default).__name__ if p.default is not None else "str", "default": p.default, "help": p.help}
                        for pname, p in sorted((getattr(item, "params", None) or {}).items())
                    ]
                    if hook in ("metrics", "extractors")
                    else []
                )
                options = [{"name": k, "help": v} for k, v in sorted((getattr(item, "extra_options", None) or {}).items())] if hook == "sources" else []
                items.append({"kind": hook[:-1] if hook.endswith("s") else hook, "name": name, "summary": summary, "params": params, "source_options": options})
        entry["items"] = items
        described.append(entry)
    return described


def verify_record(
    record_path: str | Path, *, rtol: float = 1e-6, atol: float = 1e-9, allow_code: bool = False, use_cache: bool = False, progress: bool = False
) -> Any:
    """Re-run a recorded score and compare every value (see :mod:`gan_eval.verify`)."""
    from .record import read_record
    from .verify import verify

    record = read_record(record_path)
    return verify(
        record,
        lambda registry, config: run_config(registry, config, progress=progress),
        rtol=rtol,
        atol=atol,
        allow_code=allow_code,
        use_cache=use_cache,
        where=str(record_path),
    )


__all__ = [
    "Evaluator",
    "features",
    "PlannedOutputs",
    "Result",
    "compare",
    "describe_plugins",
    "evaluate",
    "is_primary",
    "planned_outputs",
    "reference_statistics",
    "report_html",
    "run_config",
    "split_options",
    "verify_record",
    "write_outputs",
    "write_report",
]
