"""The official DINOv2 checkpoint in a timm VisionTransformer at 224×224 input.

timm's own checkpoint filter resamples the 37×37 position embeddings with antialiasing to the
target grid; the official model (what dgm-eval and torch-fidelity run, through torch hub) instead
interpolates them at run time, bicubic without antialiasing, at scale factor (16 + 0.1) / 37. We
resample once at load time exactly as the official code does, so the CLS token is the official one.

``ClsTokenViT`` then runs that model for its only output, the CLS token after the final norm, with
less work than timm's forward (measured in docs/performance.md): the last block computes its
attention query, projection and feed-forward for the CLS token alone (the other 256 tokens' outputs
are never read; those few rows run in float64), and each block's layer scale is folded into the
projection before it, whose GEMM also adds the residual. Same function, float32 rounding apart
(features within 1e-5 of the reference).
"""

from __future__ import annotations

import copy
import itertools
import re
import threading
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

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


class FoldedBlock(nn.Module):
    """A timm DINOv2 block, ``x + γ·proj(a)`` computed as one GEMM ``(x + γ·b) + a·(γ·W)ᵀ`` (likewise for
    the feed-forward): no layer-scale multiply, no separate residual add, no bias broadcast copy."""

    def __init__(self, block: nn.Module):
        """Takes ``block``'s tensors over (its feed-forward module is reused with fc2 removed)."""
        super().__init__()
        attn = block.attn
        if getattr(attn, "gate", None) is not None or not all(isinstance(m, nn.Identity) for m in (attn.q_norm, attn.k_norm, attn.norm)):
            raise ValueError("FoldedBlock expects timm's plain attention (no gate, q/k norm or scale norm), as in DINOv2")
        self.heads, self.head_dim = attn.num_heads, attn.head_dim
        self.norm1, self.norm2, self.qkv = block.norm1, block.norm2, attn.qkv
        gamma1, gamma2 = block.ls1.gamma, block.ls2.gamma
        self.register_buffer("proj_weight_t", (attn.proj.weight * gamma1[:, None]).t().contiguous())
        self.register_buffer("proj_bias", attn.proj.bias * gamma1)
        self.register_buffer("fc2_weight_t", (block.mlp.fc2.weight * gamma2[:, None]).t().contiguous())
        self.register_buffer("fc2_bias", block.mlp.fc2.bias * gamma2)
        self.hidden = block.mlp  # fc1 and its activation (GELU, or ViT-g/14's packed SwiGLU); fc2 is folded
        self.hidden.fc2 = nn.Identity()

    @staticmethod
    def _residual(x: torch.Tensor, y: torch.Tensor, weight_t: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        return torch.addmm((x + bias).view(b * n, d), y.reshape(b * n, -1), weight_t).view(b, n, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """B×N×D → B×N×D."""
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        x = self._residual(x, F.scaled_dot_product_attention(q, k, v).transpose(1, 2), self.proj_weight_t, self.proj_bias)
        return self._residual(x, self.hidden(self.norm2(x)), self.fc2_weight_t, self.fc2_bias)

    def cls_output(self, x: torch.Tensor, wide: "FoldedBlock") -> torch.Tensor:
        """B×N×D → the CLS token's output alone, B×1×D in float64. Keys and values come from every token
        (float32 GEMMs of B·N rows); the rest is B rows, where a float32 GEMM accumulates less
        accurately than on many rows (measured: 1.7e-5 off on ViT-g/14), and float64 costs nothing.
        ``wide`` is this block in float64 (:class:`Float64Twin`)."""
        b, n, d = x.shape
        h = self.norm1(x)
        w, bias = self.qkv.weight, self.qkv.bias
        k, v = F.linear(h, w[d:], bias[d:]).view(b, n, 2, self.heads, self.head_dim).permute(2, 0, 3, 1, 4).double().unbind(0)
        q = F.linear(h[:, :1].double(), wide.qkv.weight[:d], wide.qkv.bias[:d]).view(b, 1, self.heads, self.head_dim).transpose(1, 2)
        a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2)
        x = self._residual(x[:, :1].double(), a, wide.proj_weight_t, wide.proj_bias)
        return self._residual(x, wide.hidden(wide.norm2(x)), wide.fc2_weight_t, wide.fc2_bias)


class Float64Twin:
    """Float64 copies of modules, made on first use and again whenever the originals' tensors have
    changed (``.to(device, dtype)`` makes new ones). Not submodules: ``state_dict`` and ``.to`` never
    see them. Built under a lock, so concurrent calls (CPU streams) share one copy and never touch
    the originals' parameters (``torch.func.functional_call`` would swap them in place)."""

    def __init__(self, *modules: nn.Module):
        self._modules = modules
        self._lock = threading.Lock()
        self._made: tuple[tuple, tuple[nn.Module, ...]] = ((), ())

    def _key(self) -> tuple:
        return tuple((t.data_ptr(), t.dtype, t.device) for m in self._modules for t in itertools.chain(m.parameters(), m.buffers()))

    def get(self) -> tuple[nn.Module, ...]:
        key = self._key()
        made_key, copies = self._made
        if made_key == key:
            return copies
        with self._lock:
            made_key, copies = self._made
            if made_key != key:
                copies = tuple(copy.deepcopy(m).double() for m in self._modules)
                self._made = (key, copies)
            return copies

    def __deepcopy__(self, memo: dict) -> "Float64Twin":
        return Float64Twin(*(copy.deepcopy(m, memo) for m in self._modules))


class ClsTokenViT(nn.Module):
    """The CLS token after the final norm of a timm DINOv2 ViT: N×3×224×224 → N×D (see the module doc)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        if model.reg_token is not None or model.no_embed_class or model.dynamic_img_size:
            raise ValueError("ClsTokenViT expects a DINOv2 ViT: class token in the position embeddings, no registers, fixed size")
        self.patch_embed, self.norm = model.patch_embed, model.norm
        self.cls_token, self.pos_embed = model.cls_token, model.pos_embed
        self.blocks = nn.ModuleList(FoldedBlock(block) for block in model.blocks)
        self.wide = Float64Twin(self.blocks[-1], self.norm)  # the CLS-only rows' float64 weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        for block in self.blocks[:-1]:
            x = block(x)
        wide_block, wide_norm = self.wide.get()
        return wide_norm(self.blocks[-1].cls_output(x, wide_block)[:, 0]).to(x.dtype)
