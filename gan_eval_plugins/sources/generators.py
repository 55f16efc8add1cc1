"""Generator sources: images sampled from a model with a seeded latent stream.

``torchscript:PATH``
    A TorchScript generator (``torch.jit.save``); ``--source-option latent=100`` (or ``100,1,1``) gives
    the latent shape it takes. TorchScript runs only the scripted graph, never arbitrary Python.
``callable:package.module:function``
    A Python function. With ``--source-option latent=SHAPE`` it is called as ``function(z)`` on a
    float32 CPU latent batch; without it as ``function(seed, n)`` and must be deterministic in them.

All sample ``--num`` images exactly. (``ckpt:``, for ``gan-eval train`` checkpoints, is the trainers'
plugin's: ``trainers/checkpoint_source.py`` builds on ``_SampledSource`` here.) Latents come in fixed blocks of ``BLOCK`` from a CPU generator
seeded with (``--seed``, block index) and every block is generated whole, so image i depends only on
(seed, i): batch size, sharding and ``--num`` never change an image. Float outputs map to uint8 as
``rint((x + 1) / 2 · 255)`` (range ``-1,1``, the default; ``--range 0,1`` for [0, 1] outputs).
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

import gan_eval
from gan_eval.errors import InputError
from gan_eval.hashing import sha256_file
from gan_eval.memory import LATENT_BLOCK, block_latents, block_seed
from gan_eval.images import float_to_uint8
from gan_eval.source import Batch, Source, SourceOptions

#: images generated per latent block (a fixed unit, so results never depend on batching)
BLOCK = LATENT_BLOCK


def parse_classes(text: str | None, where: str) -> int | None:
    """``--source-option classes=K`` (K ≥ 2), or None."""
    if text is None:
        return None
    try:
        classes = int(text)
    except ValueError:
        classes = 0
    if classes < 2:
        raise InputError(where, f"--source-option classes={text!r} must be a whole number of classes, at least 2")
    return classes


def parse_latent_shape(text: str, where: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.replace("x", ",").split(",") if part.strip())
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise InputError(where, f"latent={text!r} is not a latent shape (e.g. latent=100 or latent=100,1,1)")
    return shape


class _SampledSource(Source):
    extra_options = {
        "device": "torch device the generator runs on (default cpu)",
        "latent": "latent shape the generator takes, e.g. 100 or 100,1,1",
        "classes": "K for a conditional generator: it is called as f(z, labels) with labels drawn uniformly from 0..K-1 per image (seeded), passed on to per-class metrics",
    }
    """Shared machinery: exact counts, block-wise latents, output checks and uint8 conversion."""

    value_range = "-1,1"

    def __init__(self, target: str, options: SourceOptions):
        super().__init__(target, options)
        count = options.count if options.count is not None else options.limit
        if count is None:
            raise InputError(self.spec, "a generator has no fixed number of images: pass --num N")
        self.count = min(count, options.limit) if options.limit else count
        self.seed = options.seed
        self.device = torch.device(options.extra.get("device", "cpu"))
        self.classes = parse_classes(options.extra.get("classes"), self.spec)
        self._blocks: OrderedDict[int, np.ndarray] = OrderedDict()

    def block_labels(self, block: int) -> torch.Tensor | None:
        """The class of each image of a block (conditional generators), seeded by (seed, block) alone."""
        if self.classes is None:
            return None
        rng = torch.Generator(device="cpu").manual_seed(block_seed(self.seed, block) ^ 0x5EED_C1A55)
        return torch.randint(0, self.classes, (BLOCK,), generator=rng)

    # subclasses: produce the raw output (tensor or array, N×C×H×W) of one whole block
    def _generate(self, block: int) -> Any:
        raise NotImplementedError

    def _block(self, block: int) -> np.ndarray:
        if block not in self._blocks:
            with torch.no_grad():
                raw = self._generate(block)
            self._blocks[block] = self._to_rgb_uint8(raw, block)
            while len(self._blocks) > 2:
                self._blocks.popitem(last=False)
        return self._blocks[block]

    def _to_rgb_uint8(self, raw: Any, block: int) -> np.ndarray:
        where = f"generator {self.spec} (images {block * BLOCK}..{block * BLOCK + BLOCK - 1})"
        if isinstance(raw, torch.Tensor):
            raw = raw.detach().cpu().numpy()
        if not isinstance(raw, np.ndarray):
            raise InputError(where, f"returned {type(raw).__name__}, expected a tensor or array of images N×C×H×W")
        if raw.ndim != 4 or raw.shape[1] not in (1, 3):
            raise InputError(where, f"returned shape {tuple(raw.shape)}, expected N×C×H×W with C = 1 or 3")
        if raw.shape[0] != BLOCK:
            raise InputError(where, f"returned {raw.shape[0]} images for {BLOCK} requested")
        if raw.dtype == np.uint8:
            images = raw
        elif raw.dtype.kind == "f":
            images = float_to_uint8(raw, self.value_range, where)
        else:
            raise InputError(where, f"returned dtype {raw.dtype}, expected float (in [{self.value_range}]) or uint8")
        self.native_channels = int(images.shape[1])
        if images.shape[1] == 1:
            images = np.repeat(images, 3, axis=1)
        return np.ascontiguousarray(images)

    def __len__(self) -> int:
        return self.count

    def read(self, start: int, stop: int) -> Batch:
        stop = min(stop, self.count)
        if start >= stop:
            return Batch(np.zeros((0, 3, *self._shape()[1:]), np.uint8))
        parts, labels = [], []
        for block in range(start // BLOCK, (stop - 1) // BLOCK + 1):
            lo, hi = max(start, block * BLOCK) - block * BLOCK, min(stop, (block + 1) * BLOCK) - block * BLOCK
            parts.append(self._block(block)[lo:hi])
            drawn = self.block_labels(block)
            if drawn is not None:
                labels.append(drawn[lo:hi].numpy())
        return Batch(np.concatenate(parts), labels=np.concatenate(labels) if labels else None)

    def _shape(self) -> tuple[int, int, int]:
        """(native channels, height, width)."""
        raise NotImplementedError

    def _probe(self) -> tuple[int, int, int]:
        """Generate block 0 now: checks the generator early and tells its image shape."""
        first = self._block(0)
        return self.native_channels, int(first.shape[2]), int(first.shape[3])

    def _identity(self) -> str:
        """What the fingerprint hashes besides seed and count (e.g. the weights file's hash)."""
        raise NotImplementedError

    def fingerprint(self) -> str:
        text = f"{self.kind};{self._identity()};seed={self.seed};count={self.count};block={BLOCK};range={self.value_range}"
        return hashlib.sha256(text.encode()).hexdigest()

    def info(self) -> dict[str, Any]:
        channels, height, width = self._shape()
        return {"kind": self.kind, "spec": self.spec, "count": self.count, "height": height, "width": width, "channels": channels, "sample_seed": self.seed}


class TorchScriptSource(_SampledSource):
    kind = "torchscript"
    summary = "a TorchScript generator (--source-option latent=100 gives its latent shape)"

    def __init__(self, target: str, options: SourceOptions):
        super().__init__(target, options)
        self.path = Path(target)
        if not self.path.is_file():
            raise InputError(target, "no such TorchScript file")
        if "latent" not in options.extra:
            raise InputError(self.spec, "pass the generator's latent shape with --source-option latent=N (e.g. 100 or 100,1,1)")
        self.latent_shape = parse_latent_shape(options.extra["latent"], self.spec)
        self.value_range = options.value_range or "-1,1"
        try:
            with warnings.catch_warnings():  # torch ≥ 2.9 marks TorchScript deprecated; it still loads
                warnings.simplefilter("ignore", FutureWarning)
                self.module = torch.jit.load(str(self.path), map_location=self.device).eval()
        except Exception as exc:
            raise InputError(self.path, f"cannot load as TorchScript: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        self._sha256 = sha256_file(self.path)
        self._native = self._probe()

    def _generate(self, block: int) -> Any:
        try:
            return self.module(block_latents(self.seed, block, self.latent_shape).to(self.device))
        except Exception as exc:
            raise InputError(self.spec, f"the generator failed on a latent batch of shape {(BLOCK, *self.latent_shape)}: {type(exc).__name__}: {exc}") from None

    def _shape(self) -> tuple[int, int, int]:
        return self._native

    def _identity(self) -> str:
        return f"sha256={self._sha256};latent={self.latent_shape}"

    def info(self) -> dict[str, Any]:
        return {**super().info(), "latent": list(self.latent_shape), "value_range": self.value_range, "sha256": self._sha256}


class CallableSource(_SampledSource):
    kind = "callable"
    summary = "a Python function package.module:function, called as f(z) (--source-option latent=N) or f(seed, n)"

    def __init__(self, target: str, options: SourceOptions):
        super().__init__(target, options)
        self.function = self.import_function(target)
        self.latent_shape = parse_latent_shape(options.extra["latent"], self.spec) if "latent" in options.extra else None
        self.value_range = options.value_range or "-1,1"
        self._native = self._probe()

    def import_function(self, target: str) -> Callable[..., Any]:
        module_name, sep, attr = target.partition(":")
        if not sep or not module_name or not attr:
            raise InputError(self.spec, "expected callable:package.module:function")
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            raise InputError(self.spec, f"cannot import {module_name!r}: {type(exc).__name__}: {exc}") from None
        function = module
        for part in attr.split("."):
            function = getattr(function, part, None)
        if not callable(function):
            raise InputError(self.spec, f"{module_name!r} has no callable {attr!r}")
        return function

    def _generate(self, block: int) -> Any:
        try:
            if self.latent_shape is not None:
                z = block_latents(self.seed, block, self.latent_shape)
                labels = self.block_labels(block)
                return self.function(z) if labels is None else self.function(z, labels)
            if self.classes is not None:
                raise InputError(self.spec, "--source-option classes=K needs latent=SHAPE: a conditional generator is called as f(z, labels)")
            return self.function(block_seed(self.seed, block), BLOCK)
        except Exception as exc:
            raise InputError(self.spec, f"the generator function raised {type(exc).__name__}: {exc}") from None

    def _shape(self) -> tuple[int, int, int]:
        return self._native

    def _identity(self) -> str:
        try:
            source_file = inspect.getsourcefile(self.function)
            code = sha256_file(Path(source_file)) if source_file else "?"
        except (TypeError, OSError):
            code = "?"
        return f"target={self.target};code={code};latent={self.latent_shape}"

    def info(self) -> dict[str, Any]:
        mode = f"f(z), latent {list(self.latent_shape)}" if self.latent_shape else "f(seed, n)"
        return {**super().info(), "call": mode, "value_range": self.value_range}


@gan_eval.hookimpl
def register_sources():
    return [TorchScriptSource, CallableSource]
