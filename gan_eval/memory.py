"""Sources for what a Python caller holds in memory: a stack of images, or a generator callable.

They let :func:`gan_eval.evaluate` score a tensor without writing it to disk, through the same
conversion rules as every file source (gan_eval/images.py), so a uint8 tensor scores exactly like the
same images written as PNGs.
"""

from __future__ import annotations

import hashlib
import inspect
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .errors import InputError, UsageError
from .images import image_dims, layout_of, to_hwc, to_uint8
from .source import Batch, Source, SourceOptions

#: Images generated per latent block: image i depends only on (seed, i), never on batching.
LATENT_BLOCK = 64


def as_numpy(images: Any) -> np.ndarray:
    """A CPU numpy view of a tensor (any device) or array."""
    if isinstance(images, torch.Tensor):
        return images.detach().to("cpu").numpy()
    if isinstance(images, np.ndarray):
        return images
    raise UsageError(f"images must be a torch.Tensor or numpy array, got {type(images).__name__}")


def to_rgb_batch(images: Any, where: str, value_range: str | None = None, layout: str | None = None) -> np.ndarray:
    """Images (N×H×W, N×H×W×C or N×C×H×W; uint8, or float with ``value_range``) as uint8 N×3×H×W."""
    array = as_numpy(images)
    if array.ndim == 3 and layout is None and array.shape[0] in (1, 3, 4) and isinstance(images, torch.Tensor):
        raise InputError(where, f"shape {tuple(array.shape)} is one image, not a batch: add a batch dimension (images[None])")
    order = layout_of(tuple(array.shape), layout, where)
    hwc = to_hwc(array, order)
    channels = hwc.shape[3]
    hwc = hwc[..., :1] if channels in (1, 2) else hwc[..., :3]
    pixels = to_uint8(np.ascontiguousarray(hwc), where, value_range)
    if pixels.shape[3] == 1:
        pixels = np.repeat(pixels, 3, axis=3)
    return np.ascontiguousarray(pixels.transpose(0, 3, 1, 2))


class TensorSource(Source):
    """Images held in memory (converted once to uint8 RGB), with optional integer labels."""

    kind = "tensor"
    summary = "images in memory (Python API: a torch.Tensor or numpy array)"

    def __init__(self, images: Any, options: SourceOptions | None = None, *, labels: Any = None, name: str = "tensor", layout: str | None = None):
        options = options or SourceOptions()
        shape = "x".join(str(n) for n in as_numpy(images).shape)
        super().__init__(f"{name}({shape})", options)
        array = as_numpy(images)
        order = layout_of(tuple(array.shape), layout, self.spec)
        #: channels as given (1 for gray): what extractor auto-selection looks at, as for files
        self.channels = image_dims(tuple(array.shape), order)[0]
        self.images = to_rgb_batch(images, self.spec, options.value_range, layout)
        if options.limit is not None:
            self.images = self.images[: options.limit]
        self.labels = None
        if labels is not None:
            labels = as_numpy(labels).astype(np.int64).reshape(-1)
            if len(labels) < len(self.images):
                raise UsageError(f"{self.spec}: {len(labels)} labels for {len(self.images)} images")
            self.labels = labels[: len(self.images)]
        digest = hashlib.sha256(b"gan-eval-tensor/1")
        for part in (str(self.images.shape).encode(), self.images.tobytes(), b"" if self.labels is None else self.labels.tobytes()):
            digest.update(len(part).to_bytes(8, "little"))
            digest.update(part)
        self._fingerprint = digest.hexdigest()

    def __len__(self) -> int:
        return len(self.images)

    def read(self, start: int, stop: int) -> Batch:
        labels = None if self.labels is None else self.labels[start:stop]
        return Batch(self.images[start:stop], labels=labels)

    def fingerprint(self) -> str:
        return self._fingerprint

    def info(self) -> dict[str, Any]:
        n, _, h, w = self.images.shape
        return {"kind": self.kind, "spec": self.spec, "count": int(n), "height": int(h), "width": int(w), "channels": self.channels}


def block_seed(seed: int, block: int) -> int:
    """The seed of latent block ``block`` of a run seeded ``seed`` (every generator source uses it)."""
    digest = hashlib.sha256(f"gan-eval-latents:{seed}:{block}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def block_latents(seed: int, block: int, shape: Sequence[int]) -> torch.Tensor:
    """The ``LATENT_BLOCK`` standard-normal latents of block ``block`` (float32, CPU), from a generator
    seeded by (seed, block) alone."""
    rng = torch.Generator(device="cpu").manual_seed(block_seed(seed, block))
    return torch.randn((LATENT_BLOCK, *shape), generator=rng)


def callable_fingerprint(function: Callable[..., Any]) -> str:
    """A hash that changes when the callable's weights (a module's state) or code change."""
    digest = hashlib.sha256(b"gan-eval-callable/1")

    def feed(part: bytes) -> None:
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)

    owner = function if isinstance(function, torch.nn.Module) else getattr(function, "__self__", None)
    feed(type(owner if owner is not None else function).__qualname__.encode())
    if isinstance(owner, torch.nn.Module):
        for name, tensor in owner.state_dict().items():
            value = tensor.detach().to("cpu").contiguous()
            feed(f"{name}:{value.dtype}:{tuple(value.shape)}".encode())
            feed(value.view(torch.uint8).numpy().tobytes() if value.numel() else b"")
    code = getattr(getattr(function, "__func__", function), "__code__", None)
    if code is not None:
        feed(code.co_code)
        feed(repr(code.co_consts).encode())
    else:
        try:
            feed(inspect.getsource(type(function)).encode())
        except (OSError, TypeError):
            feed(repr(function).encode())
    return digest.hexdigest()


class GeneratorSource(Source):
    """``count`` images from ``function(z)``, z standard normal in blocks seeded by (seed, block)."""

    kind = "generator"
    summary = "a generator callable in memory (Python API): f(z) -> images"

    def __init__(
        self,
        function: Callable[[torch.Tensor], Any],
        latent: int | Sequence[int],
        count: int,
        options: SourceOptions | None = None,
        *,
        device: torch.device | str = "cpu",
    ):
        options = options or SourceOptions()
        if not callable(function):
            raise UsageError(f"generator must be callable, got {type(function).__name__}")
        if count is None or int(count) < 1:
            raise UsageError("a generator callable needs count=N, the number of images to sample")
        self.latent = (int(latent),) if isinstance(latent, int) else tuple(int(n) for n in latent)
        name = getattr(function, "__qualname__", type(function).__qualname__)
        super().__init__(f"{name}(z{list(self.latent)})", options)
        self.function, self.count, self.device = function, int(count), torch.device(device)
        self.value_range = options.value_range or "-1,1"
        self._fingerprint = hashlib.sha256(
            f"{callable_fingerprint(function)}:{self.latent}:{self.count}:{options.seed}:{self.value_range}".encode()
        ).hexdigest()

    def __len__(self) -> int:
        return self.count

    def read(self, start: int, stop: int) -> Batch:
        parts = []
        for block in range(start // LATENT_BLOCK, (stop - 1) // LATENT_BLOCK + 1):
            images = self._block(block)
            lo = max(start - block * LATENT_BLOCK, 0)
            parts.append(images[lo : min(stop - block * LATENT_BLOCK, LATENT_BLOCK)])
        return Batch(np.concatenate(parts))

    def _block(self, block: int) -> np.ndarray:
        z = block_latents(self.options.seed, block, self.latent).to(self.device)
        with torch.no_grad():
            try:
                out = self.function(z)
            except Exception as exc:
                raise InputError(self.spec, f"the generator raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(out, (torch.Tensor, np.ndarray)) or len(out) != LATENT_BLOCK:
            raise InputError(
                self.spec,
                f"the generator must return {LATENT_BLOCK} images for {LATENT_BLOCK} latents, got {type(out).__name__} of length {len(out) if hasattr(out, '__len__') else '?'}",
            )
        return to_rgb_batch(out, self.spec, self.value_range, "NCHW" if as_numpy(out).ndim == 4 else None)

    def fingerprint(self) -> str:
        return self._fingerprint

    def info(self) -> dict[str, Any]:
        if not hasattr(self, "_shape"):
            z = block_latents(self.options.seed, 0, self.latent).to(self.device)
            with torch.no_grad():
                shape = tuple(as_numpy(self.function(z)).shape)
            self._shape = shape  # native layout: N×C×H×W or N×H×W
        channels, height, width = image_dims(self._shape, "NHW" if len(self._shape) == 3 else "NCHW")
        return {
            "kind": self.kind,
            "spec": self.spec,
            "count": self.count,
            "height": int(height),
            "width": int(width),
            "channels": int(channels),
            "latent": list(self.latent),
            "seed": self.options.seed,
        }
