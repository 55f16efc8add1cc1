"""Exact (default) and fast numerics for a scoring run.

Exact: float32 with TF32 off for matmuls *and* cuDNN convolutions (cuDNN allows TF32 by default,
which changes Inception features in the 3rd-4th digit on Ampere and newer GPUs) and no autotuning, so
a CUDA run equals the CPU path within float32 rounding.

Fast (``--fast``, opt-in): TF32 and cuDNN autotuning on, and extractors that declare the speed
parameters get them (:data:`FAST_EXTRACTOR_PARAMS`): channels-last everywhere, bfloat16 autocast on
GPUs, on CPUs folded batch norm with fused oneDNN convolutions (``fuse``) and, where the CPU has
native bfloat16, a bfloat16 network (``dtype``). Fast results differ from exact ones
(docs/performance.md measures by how much), so the run record marks them and the extractor's identity
carries ``"numerics": "fast"``: reference caches never mix fast and exact statistics.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import torch

EXACT, FAST = "exact", "fast"
MODES = (EXACT, FAST)
_current: ContextVar[str] = ContextVar("gan_eval_numerics", default=EXACT)


def current() -> str:
    """The mode of the innermost :func:`numerics` scope ("exact" outside any)."""
    return _current.get()


#: Extractor parameters set in fast mode when an extractor declares them (a user's -O value wins),
#: by device kind (:func:`device_kind`). bfloat16 autocast (per-op casts) made Inception slower on a
#: CPU, so CPUs get a whole-bfloat16 network instead, and only those that run bf16 natively: without
#: AVX512-BF16/AMX oneDNN has no bf16 kernels and bf16 convolutions ran 10× slower than float32.
#: ``fuse``: batch norm folded into the convolutions, convolution + ReLU as one prepacked oneDNN kernel.
FAST_EXTRACTOR_PARAMS: Mapping[str, Mapping[str, Any]] = {
    "cuda": {"channels_last": True, "autocast": "bfloat16"},
    "cpu": {"channels_last": True, "fuse": True},
    "cpu-bf16": {"channels_last": True, "fuse": True, "dtype": "bfloat16"},
}


def native_cpu_bfloat16() -> bool:
    """True when oneDNN runs bfloat16 convolutions and matmuls on this CPU's own instructions."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def device_kind(device_type: str) -> str:
    """The key of :data:`FAST_EXTRACTOR_PARAMS` for ``device_type`` on this machine."""
    if device_type == "cpu":
        return "cpu-bf16" if native_cpu_bfloat16() else "cpu"
    return device_type


def fast_extractor_params(declared: Mapping[str, Any], given: Mapping[str, Any], device_type: str = "cuda") -> dict[str, Any]:
    """``given`` plus the fast-mode parameters (for ``device_type``) the extractor declares and the user did not set."""
    fast = FAST_EXTRACTOR_PARAMS.get(device_kind(device_type), FAST_EXTRACTOR_PARAMS["cpu"])
    extra = {k: v for k, v in fast.items() if k in declared and k not in given}
    return {**given, **extra}


def mark_fast(extractor: Any) -> None:
    """Make ``extractor.identity()`` (record, cache keys) say that its outputs came from fast numerics."""
    plain = extractor.identity
    extractor.identity = lambda: {**plain(), "numerics": FAST}


def _precision_knobs() -> list[tuple[Any, str, Any, Any]]:
    """(object, attribute, exact value, fast value) for each switch. The legacy ``allow_tf32`` flags
    set cuDNN convolutions and RNNs together; setting only one through the newer ``fp32_precision``
    API makes torch refuse to read ``allow_tf32`` later (a mix of APIs), so we stay with one API."""
    return [
        (torch.backends.cuda.matmul, "allow_tf32", False, True),
        (torch.backends.cudnn, "allow_tf32", False, True),
        (torch.backends.cudnn, "benchmark", False, True),
    ]


@contextmanager
def numerics(mode: str = EXACT) -> Iterator[None]:
    """Set TF32 and cuDNN autotuning for ``mode`` ("exact" or "fast"); restore the previous values after."""
    if mode not in MODES:
        raise ValueError(f"numerics mode must be {EXACT!r} or {FAST!r}, got {mode!r}")
    knobs = _precision_knobs()
    saved = [(obj, attr, getattr(obj, attr)) for obj, attr, _, _ in knobs]
    token = _current.set(mode)
    try:
        for obj, attr, exact, fast in knobs:
            setattr(obj, attr, fast if mode == FAST else exact)
        yield
    finally:
        _current.reset(token)
        for obj, attr, value in saved:
            setattr(obj, attr, value)
