"""OpenAI's CLIP file → open_clip's image tower (float32, QuickGELU as OpenAI trained it).

OpenAI distributes TorchScript archives holding float16 weights; a plain state dict is accepted
too. Only the ``visual.*`` tensors are used: the text tower is never built.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from gan_eval import weights as core

from .models import ClipModel


def read_openai_file(path: Path, what: str) -> dict[str, torch.Tensor]:
    """The state dict of an OpenAI CLIP file (TorchScript archive or plain state dict)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated, but it is OpenAI's format
            return dict(torch.jit.load(str(path), map_location="cpu").state_dict())
    except RuntimeError:
        return core.read_state_dict(path, what)


def visual_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k.removeprefix("visual."): v for k, v in state.items() if k.startswith("visual.")}


def build_visual(model: ClipModel, path: Path, layers: int | None = None) -> torch.nn.Module:
    """open_clip's VisionTransformer for ``model`` with the weights of ``path`` (float32, eval, CPU)."""
    from open_clip.transformer import LayerNorm, QuickGELU, VisionTransformer

    what = f"OpenAI CLIP {model.title} weights ({model.file_name})"
    state = visual_state(read_openai_file(path, what))
    core.check_layout(path, state, model.visual_layout(layers), what)
    with torch.device("meta"):  # no random initialisation: every tensor comes from the file
        visual = VisionTransformer(
            image_size=model.image_size,
            patch_size=model.patch,
            width=model.width,
            layers=model.layers if layers is None else layers,
            heads=model.heads,
            mlp_ratio=4.0,
            output_dim=model.embed_dim,
            act_layer=QuickGELU,
            norm_layer=LayerNorm,
        )
    visual.load_state_dict({k: v.float() for k, v in state.items()}, strict=True, assign=True)
    return visual.requires_grad_(False).eval()
