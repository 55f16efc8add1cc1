"""The ``inception`` feature extractor: standard FID/IS Inception-v3, explicit preprocessing profile."""

from __future__ import annotations

import contextlib
from typing import Any, Mapping

import torch

from gan_eval.errors import GanEvalError, UsageError
from gan_eval.extractor import FeatureExtractor, SourceInfo
from gan_eval.params import Param

from . import weights as weights_mod
from .fast import fuse_network
from .network import TFInceptionV3
from .preprocess import PROFILES

_DTYPES = {"float32": torch.float32, "float64": torch.float64, "bfloat16": torch.bfloat16}
_AUTOCAST = {"": None, "off": None, "float16": torch.float16, "bfloat16": torch.bfloat16}


class InceptionExtractor(FeatureExtractor):
    """pool3 (2048-d) as ``features``, the 1008 logits without fc bias as ``logits``.

    The instance's ``standard`` is True only when the loaded file is the standard weights file.
    """

    name = "inception"
    summary = "standard FID/IS Inception-v3 (TF 2015-12-05 weights, SHA-256 checked): pool3 2048-d, 1008 unbiased logits"
    outputs = frozenset({"features", "logits"})
    standard = True
    priority = 100
    #: Where the weights are looked for, and the publisher's address for 'gan-eval weights fetch inception'.
    weights_spec = weights_mod.SPEC
    cpu_chunk = 8  # measured: 8.1 images/s in calls of 64, 10.1-11.1 in calls of 8, same features bit for bit
    thread_safe = True  # a call changes nothing: the engine runs chunks side by side (gan_eval/streams.py)
    params = {
        "weights": Param("", f"path of the weights file (default: ${weights_mod.WEIGHTS_ENV}, then the torch hub checkpoint cache)"),
        "allow_nonstandard": Param(False, "accept a weights file whose SHA-256 is not the standard one (results are marked non-standard)"),
        "profile": Param(
            "tf1",
            "preprocessing to 299x299: tf1 (TF1 bilinear, as torch-fidelity and the original code), pytorch-fid, clean (antialiased bicubic, as clean-fid)",
        ),
        "dtype": Param(
            "float32",
            "network dtype: float32, float64, or bfloat16 (weights and activations; resizing stays float32, outputs are float32; fast on CPUs with AVX512-BF16/AMX, changes the values)",
        ),
        "autocast": Param("", "mixed precision for speed: float16 or bfloat16 (off by default; changes the values, so not for comparable numbers)"),
        "channels_last": Param(False, "use the channels-last memory format (may be faster on GPU; same values up to rounding)"),
        "fuse": Param(
            False,
            "fold batch norm into the convolutions and run each convolution + ReLU as one prepacked oneDNN kernel on CPU (channels-last; features move ~1e-5)",
        ),
    }

    def __init__(self, device: torch.device | str = "cpu", **params: Any):
        super().__init__(device, **params)
        _check_choices(self.p)
        self.weights = weights_mod.locate(self.p)
        weights_mod.check_standard(self.weights, self.p["allow_nonstandard"])
        self.standard = self.weights.standard
        self.dtype = _DTYPES[self.p["dtype"]]
        self.preprocess = PROFILES[self.p["profile"]]
        network = TFInceptionV3()
        state = weights_mod.load_state_dict(self.weights.path, network.state_dict())
        network.load_state_dict(state, strict=False)
        network.requires_grad_(False).eval()
        if self.p["fuse"]:
            self.memory_format = torch.channels_last
            self.network = fuse_network(network, device=self.device, dtype=self.dtype, chunk=self.cpu_chunk)
        else:
            self.memory_format = torch.channels_last if self.p["channels_last"] else torch.contiguous_format
            self.network = network.to(device=self.device, dtype=self.dtype, memory_format=self.memory_format)
        #: resizing runs in float32 for a bfloat16 network (the input is rounded once, after it)
        self.resize_dtype = torch.float32 if self.dtype == torch.bfloat16 else self.dtype

    @classmethod
    def unavailable_reason(cls, params: Mapping[str, Any]) -> str | None:
        try:
            found = weights_mod.locate(params)
            allow = str(params.get("allow_nonstandard", False)).strip().lower() in ("1", "true", "yes", "on")
            weights_mod.check_standard(found, allow)
        except GanEvalError as exc:
            return str(exc)
        except OSError as exc:
            return f"the Inception weights file cannot be read ({exc})"
        return None

    @classmethod
    def suits(cls, info: SourceInfo) -> bool:
        return True  # any size, gray or colour: every profile resizes to 299×299 RGB

    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
            raise GanEvalError(f"extractor inception expects uint8 N×3×H×W images, got {images.dtype} {tuple(images.shape)}")
        with torch.inference_mode(), self._autocast():
            x = self.preprocess(images.to(self.device), self.resize_dtype).to(self.dtype).contiguous(memory_format=self.memory_format)
            pool, logits = self.network(x)
        return {"features": pool.float(), "logits": logits.float()}

    def _autocast(self):
        dtype = _AUTOCAST[self.p["autocast"]]
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def identity(self) -> dict[str, Any]:
        """Everything that changes the outputs; the file's location is left out (the hash says which file)."""
        params = {k: v for k, v in self.p.items() if k not in ("weights", "allow_nonstandard")}
        if not params["fuse"]:
            del params["fuse"]  # added later: exact mode's identity (and cache keys) stay what they were
        return {
            "extractor": self.name,
            "standard": self.standard,
            "params": params,
            "profile": self.p["profile"],
            "weights_sha256": self.weights.sha256,
            "outputs": {"features": "pool3 (2048)", "logits": "1008 logits without the fc bias (as IS uses)"},
        }


def _check_choices(p: Mapping[str, Any]) -> None:
    for name, choices in (("profile", PROFILES), ("dtype", _DTYPES), ("autocast", _AUTOCAST)):
        if p[name] not in choices:
            known = ", ".join(c for c in choices if c)
            raise UsageError(f"extractor inception: {name}={p[name]!r} is not one of {known}")
