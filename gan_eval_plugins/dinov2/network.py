"""The official DINOv2 checkpoint in a timm VisionTransformer at 224×224 input.

timm's own checkpoint filter resamples the 37×37 position embeddings with antialiasing to the
target grid; the official model (what dgm-eval and torch-fidelity run, through torch hub) instead
interpolates them at run time, bicubic without antialiasing, at scale factor (16 + 0.1) / 37. We
resample once at load time exactly as the official code does, so the CLS token is the official one.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
import torch.nn.functional as F

from gan_eval import weights as core

from .architectures import INPUT_SIZE, PATCH, POS_EMBED_OFFSET, Arch


def resample_pos_embed(pos_embed: torch.Tensor, grid: int) -> torch.Tensor:
    """1×(1+M²)×D official position embeddings → 1×(1+grid²)×D as the official model interpolates them."""
    cls, patches = pos_embed[:, :1], pos_embed[:, 1:].float()
    m = round(patches.shape[1] ** 0.5)
    if m * m != patches.shape[1]:
        raise ValueError(f"position embeddings of {patches.shape[1]} patches are not a square grid")
    if m == grid:
        return pos_embed
    scale = (grid + POS_EMBED_OFFSET) / m
    resized = F.interpolate(patches.reshape(1, m, m, -1).permute(0, 3, 1, 2), scale_factor=(scale, scale), mode="bicubic", antialias=False)
    resized = resized.permute(0, 2, 3, 1).reshape(1, grid * grid, -1)
    return torch.cat([cls.float(), resized], dim=1).to(pos_embed.dtype)


def to_timm(state: dict[str, torch.Tensor], grid: int) -> dict[str, torch.Tensor]:
    """Official keys → timm's: no mask token (unused at inference), SwiGLU w12/w3 → fc1/fc2, position
    embeddings resampled to ``grid``."""
    out = {}
    for key, value in state.items():
        if key == "mask_token":
            continue
        if key == "pos_embed":
            value = resample_pos_embed(value, grid)
        out[re.sub(r"\.mlp\.w12\.", ".mlp.fc1.", re.sub(r"\.mlp\.w3\.", ".mlp.fc2.", key))] = value.float()
    return out


def build_network(arch: Arch, path: Path, depth: int | None = None) -> torch.nn.Module:
    """The timm model for ``arch`` with the official weights in ``path`` (float32, eval mode, CPU)."""
    import timm

    state = core.read_state_dict(path, f"DINOv2 {arch.title} weights ({arch.file_name})")
    core.check_layout(
        path,
        {k: v for k, v in state.items() if k != "mask_token"},
        {k: v for k, v in arch.official_layout(depth).items() if k != "mask_token"},
        f"DINOv2 {arch.title} weights ({arch.file_name})",
    )
    kwargs = {"depth": depth} if depth is not None else {}
    with torch.device("meta"):  # no random initialisation: every tensor comes from the file
        model = timm.create_model(arch.timm_name, pretrained=False, img_size=INPUT_SIZE, num_classes=0, **kwargs)
    model.load_state_dict(to_timm(state, INPUT_SIZE // PATCH), strict=True, assign=True)
    return model.requires_grad_(False).eval()
