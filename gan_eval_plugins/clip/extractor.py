"""The ``clip-vitb32`` and ``clip-vitl14-336`` feature extractors: L2-normalised CLIP image embeddings."""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import torch
import torch.nn.functional as F

from gan_eval import weights as core
from gan_eval.errors import GanEvalError
from gan_eval.extractor import FeatureExtractor, SourceInfo
from gan_eval.params import Param

from .. import extractor_precision as precision
from .models import MODELS, ClipModel
from .network import build_visual
from .preprocess import PROFILES


class ClipExtractor(FeatureExtractor):
    """Base class; each subclass fixes the model. ``features``: the projected image embedding, L2-normalised."""

    model: ClassVar[ClipModel]
    weights_spec: ClassVar[core.WeightsSpec]
    outputs = frozenset({"features"})
    standard = False  # not Inception: values compare with values in the same CLIP space only
    priority = -10  # never chosen by --extractor auto (suits() is False); ask for it by name
    cpu_chunk = 8  # calls of 8 images on a CPU, run side by side (thread_safe): docs/performance.md
    thread_safe = True
    params: ClassVar[Mapping[str, Param]] = {}

    def __init_subclass__(cls, model: ClipModel, suits_for: str, cost: str, **kwargs: Any):
        """Name, weights, parameters and summary follow from the model."""
        super().__init_subclass__(**kwargs)
        cls.model = model
        cls.weights_spec = spec = model.spec()
        cls.name = spec.name
        cls.params = {
            "weights": Param("", f"path of {model.file_name} (default: ${spec.env}, then ~/.cache/clip, then the gan-eval cache)"),
            "allow_nonstandard": Param(False, "accept a file whose SHA-256 is not OpenAI's published one (results are marked non-standard)"),
            "profile": Param(
                "cmmd",
                f"preprocessing to {model.image_size}x{model.image_size}: cmmd (centre crop, PIL bicubic, as the CMMD authors) or openai (OpenAI's resize-then-crop)",
            ),
            **precision.PARAMS,
        }
        cls.summary = (
            f"OpenAI CLIP {model.title} image embedding, {model.embed_dim}-d, L2-normalised (SHA-256 checked); "
            f"suits {suits_for}; cost: {cost}; never picked by auto"
        )

    def __init__(self, device: torch.device | str = "cpu", **params: Any):
        super().__init__(device, **params)
        precision.check_choices(self.name, self.p, {"profile": PROFILES, "dtype": precision.DTYPES, "autocast": precision.AUTOCAST})
        self.weights = core.find_weights(self.weights_spec, self.p["weights"])
        core.check_published_hash(self.weights, self.weights_spec, self.p["allow_nonstandard"])
        self.published = bool(self.weights.matches(self.weights_spec))
        self.preprocess = PROFILES[self.p["profile"]]
        self.dtype = precision.DTYPES[self.p["dtype"]]
        self.network = build_visual(self.model, self.weights.path).to(self.device, self.dtype)

    @classmethod
    def unavailable_reason(cls, params: Mapping[str, Any]) -> str | None:
        try:
            found = core.find_weights(cls.weights_spec, str(params.get("weights", "") or ""))
            allow = str(params.get("allow_nonstandard", False)).strip().lower() in ("1", "true", "yes", "on")
            core.check_published_hash(found, cls.weights_spec, allow)
        except GanEvalError as exc:
            return str(exc)
        except OSError as exc:
            return f"the {cls.weights_spec.title} file cannot be read ({exc})"
        return None

    @classmethod
    def suits(cls, info: SourceInfo) -> bool:
        return False  # --extractor auto keeps choosing Inception or a domain net; CLIP is asked for by name

    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
            raise GanEvalError(f"extractor {self.name} expects uint8 N×3×H×W images, got {images.dtype} {tuple(images.shape)}")
        with torch.inference_mode(), precision.autocast(self.device, self.p["autocast"]):
            x = self.preprocess(images.to(self.device), self.model.image_size).to(self.dtype)
            embedding = self.network(x)
        return {"features": F.normalize(embedding.float(), dim=-1)}

    def identity(self) -> dict[str, Any]:
        """Everything that changes the outputs; the file's location is left out (its hash says which file)."""
        return {
            "extractor": self.name,
            "standard": False,
            "published_weights": self.published,
            "params": {k: v for k, v in self.p.items() if k not in ("weights", "allow_nonstandard")},
            "profile": self.p["profile"],
            "model": f"OpenAI CLIP {self.model.title} image tower (open_clip VisionTransformer, QuickGELU)",
            "weights_sha256": self.weights.sha256,
            "outputs": {"features": f"projected CLS embedding, L2-normalised ({self.model.embed_dim})"},
        }


class ClipViTB32(
    ClipExtractor,
    model=MODELS["vitb32"],
    suits_for="a cheap CLIP space (CMMD while tracking training, tests)",
    cost="about 4.4 GFLOPs an image (Inception: 5.7)",
):
    """OpenAI CLIP ViT-B/32, 512-d."""


class ClipViTL14336(ClipExtractor, model=MODELS["vitl14-336"], suits_for="CMMD as its authors define it", cost="about 190 GFLOPs an image, about 43x ViT-B/32"):
    """OpenAI CLIP ViT-L/14 at 336 px, 768-d: the CMMD encoder."""


EXTRACTORS: tuple[type[ClipExtractor], ...] = (ClipViTB32, ClipViTL14336)
