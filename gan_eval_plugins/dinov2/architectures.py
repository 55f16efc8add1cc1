"""The four official DINOv2 backbones: their shapes, files and the timm models that run them."""

from __future__ import annotations

from dataclasses import dataclass

from gan_eval import weights as core

BASE_URL = "https://dl.fbaipublicfiles.com/dinov2"
INPUT_SIZE = 224  # what dgm-eval and torch-fidelity feed the network
PATCH = 14
TRAINED_GRID = 37  # the checkpoints' position embeddings: 518 / 14 patches a side
POS_EMBED_OFFSET = 0.1  # the official interpolate_offset: scale factor (16 + 0.1) / 37, not 16 / 37


@dataclass(frozen=True)
class Arch:
    key: str  # "vits14"
    title: str  # "ViT-S/14"
    timm_name: str
    dim: int
    depth: int
    heads: int
    swiglu: bool = False  # ViT-g/14's feed-forward layers are SwiGLU (official w12/w3)

    @property
    def hub_name(self) -> str:
        return f"dinov2_{self.key}"

    @property
    def file_name(self) -> str:
        return f"{self.hub_name}_pretrain.pth"

    @property
    def hidden(self) -> int:
        """Feed-forward width: 4·dim, or for SwiGLU the official (int(4·dim·2/3) + 7) // 8 · 8."""
        return (int(4 * self.dim * 2 / 3) + 7) // 8 * 8 if self.swiglu else 4 * self.dim

    def spec(self) -> core.WeightsSpec:
        return core.WeightsSpec(
            name=f"dinov2-{self.key}",
            title=f"DINOv2 {self.title} weights",
            file_names=(self.file_name,),
            url=f"{BASE_URL}/{self.hub_name}/{self.file_name}",
            sha256="",  # Meta publishes no hash: the file's SHA-256 is recorded, not checked
            env=f"GAN_EVAL_DINOV2_{self.key.upper()}_WEIGHTS",
            folders=(core.TORCH_HUB, core.GAN_EVAL_CACHE),
        )

    def official_layout(self, depth: int | None = None) -> dict[str, tuple[int, ...]]:
        """Keys and shapes of the official ``dinov2_*_pretrain.pth`` (``depth`` overrides, for tests)."""
        d = self.dim
        layout: dict[str, tuple[int, ...]] = {
            "cls_token": (1, 1, d),
            "pos_embed": (1, 1 + TRAINED_GRID**2, d),
            "mask_token": (1, d),
            "patch_embed.proj.weight": (d, 3, PATCH, PATCH),
            "patch_embed.proj.bias": (d,),
            "norm.weight": (d,),
            "norm.bias": (d,),
        }
        for i in range(self.depth if depth is None else depth):
            b = f"blocks.{i}."
            layout.update(
                {
                    b + "norm1.weight": (d,),
                    b + "norm1.bias": (d,),
                    b + "attn.qkv.weight": (3 * d, d),
                    b + "attn.qkv.bias": (3 * d,),
                    b + "attn.proj.weight": (d, d),
                    b + "attn.proj.bias": (d,),
                    b + "ls1.gamma": (d,),
                    b + "norm2.weight": (d,),
                    b + "norm2.bias": (d,),
                    b + "ls2.gamma": (d,),
                }
            )
            if self.swiglu:
                layout.update(
                    {
                        b + "mlp.w12.weight": (2 * self.hidden, d),
                        b + "mlp.w12.bias": (2 * self.hidden,),
                        b + "mlp.w3.weight": (d, self.hidden),
                        b + "mlp.w3.bias": (d,),
                    }
                )
            else:
                layout.update(
                    {
                        b + "mlp.fc1.weight": (self.hidden, d),
                        b + "mlp.fc1.bias": (self.hidden,),
                        b + "mlp.fc2.weight": (d, self.hidden),
                        b + "mlp.fc2.bias": (d,),
                    }
                )
        return layout


ARCHS: dict[str, Arch] = {
    "vits14": Arch("vits14", "ViT-S/14", "vit_small_patch14_dinov2", 384, 12, 6),
    "vitb14": Arch("vitb14", "ViT-B/14", "vit_base_patch14_dinov2", 768, 12, 12),
    "vitl14": Arch("vitl14", "ViT-L/14", "vit_large_patch14_dinov2", 1024, 24, 16),
    "vitg14": Arch("vitg14", "ViT-g/14", "vit_giant_patch14_dinov2", 1536, 40, 24, swiglu=True),
}
