"""The ``dinov2-vit?14`` feature extractors: the CLS token of the official DINOv2 checkpoints."""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import torch

from gan_eval import weights as core
from gan_eval.errors import GanEvalError
from gan_eval.extractor import FeatureExtractor, SourceInfo
from gan_eval.params import Param

from .. import extractor_precision as precision
from .architectures import ARCHS, INPUT_SIZE, Arch
from .network import ClsTokenViT, build_network
from .preprocess import PROFILES


class DinoV2Extractor(FeatureExtractor):
    """Base class; each subclass fixes the architecture. ``features``: the CLS token after the final norm."""

    arch: ClassVar[Arch]
    weights_spec: ClassVar[core.WeightsSpec]
    outputs = frozenset({"features"})
    standard = False  # not Inception: values compare with other DINOv2 values only (fid@dinov2-vitl14)
    priority = -10  # never chosen by --extractor auto (suits() is False); ask for it by name
    cpu_chunk = 8  # calls of 8 images on a CPU, run side by side (thread_safe): docs/performance.md
    thread_safe = True
    params: ClassVar[Mapping[str, Param]] = {}

    def __init_subclass__(cls, arch: Arch, suits_for: str, cost: str, **kwargs: Any):
        """Name, weights, parameters and summary follow from the architecture."""
        super().__init_subclass__(**kwargs)
        cls.arch = arch
        cls.weights_spec = spec = arch.spec()
        cls.name = spec.name
        cls.params = {
            "weights": Param("", f"path of {arch.file_name} (default: ${spec.env}, then the torch hub checkpoint cache, then the gan-eval cache)"),
            "profile": Param("dgm-eval", "preprocessing to 224x224: dgm-eval (PIL bicubic, as dgm-eval's leaderboard) or torch-fidelity (TF1 bilinear)"),
            **precision.PARAMS,
        }
        cls.summary = f"DINOv2 {arch.title} CLS token, {arch.dim}-d (official weights, SHA-256 recorded); suits {suits_for}; cost: {cost}; never picked by auto"

    def __init__(self, device: torch.device | str = "cpu", **params: Any):
        super().__init__(device, **params)
        precision.check_choices(self.name, self.p, {"profile": PROFILES, "dtype": precision.DTYPES, "autocast": precision.AUTOCAST})
        self.weights = core.find_weights(self.weights_spec, self.p["weights"])
        self.preprocess = PROFILES[self.p["profile"]]
        self.dtype = precision.DTYPES[self.p["dtype"]]
        self.network = ClsTokenViT(build_network(self.arch, self.weights.path)).to(self.device, self.dtype)

    @classmethod
    def unavailable_reason(cls, params: Mapping[str, Any]) -> str | None:
        try:
            core.find_weights(cls.weights_spec, str(params.get("weights", "") or ""))
        except GanEvalError as exc:
            return str(exc)
        except OSError as exc:
            return f"the {cls.weights_spec.title} file cannot be read ({exc})"
        return None

    @classmethod
    def suits(cls, info: SourceInfo) -> bool:
        return False  # --extractor auto keeps choosing Inception or a domain net; DINOv2 is asked for by name

    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
            raise GanEvalError(f"extractor {self.name} expects uint8 N×3×H×W images, got {images.dtype} {tuple(images.shape)}")
        with torch.inference_mode(), precision.autocast(self.device, self.p["autocast"]):
            x = self.preprocess(images.to(self.device)).to(self.dtype)
            cls_token = self.network(x)
        return {"features": cls_token.float()}

    def identity(self) -> dict[str, Any]:
        """Everything that changes the outputs; the file's location is left out (its hash says which file)."""
        return {
            "extractor": self.name,
            "standard": False,
            "params": {k: v for k, v in self.p.items() if k != "weights"},
            "profile": self.p["profile"],
            "model": f"{self.arch.hub_name} (official checkpoint in timm {self.arch.timm_name}, {INPUT_SIZE}×{INPUT_SIZE} input, "
            "position embeddings resampled as the official code does)",
            "weights_sha256": self.weights.sha256,
            "outputs": {"features": f"CLS token after the final norm ({self.arch.dim})"},
        }


class DinoV2ViTS14(DinoV2Extractor, arch=ARCHS["vits14"], suits_for="quick checks and tests", cost="the cheapest (21M parameters)"):
    """DINOv2 ViT-S/14, 384-d."""


class DinoV2ViTB14(DinoV2Extractor, arch=ARCHS["vitb14"], suits_for="tracking during training (dgm-eval's advice)", cost="about 4x ViT-S/14 (86M parameters)"):
    """DINOv2 ViT-B/14, 768-d."""


class DinoV2ViTL14(
    DinoV2Extractor, arch=ARCHS["vitl14"], suits_for="the reported FD_DINOv2 (dgm-eval's leaderboard space)", cost="about 14x ViT-S/14 (300M parameters)"
):
    """DINOv2 ViT-L/14, 1024-d."""


class DinoV2ViTG14(DinoV2Extractor, arch=ARCHS["vitg14"], suits_for="the largest space, rarely worth its cost", cost="about 50x ViT-S/14 (1.1B parameters)"):
    """DINOv2 ViT-g/14, 1536-d."""


EXTRACTORS: tuple[type[DinoV2Extractor], ...] = (DinoV2ViTS14, DinoV2ViTB14, DinoV2ViTL14, DinoV2ViTG14)
