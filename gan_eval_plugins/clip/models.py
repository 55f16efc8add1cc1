"""The OpenAI CLIP image towers gan-eval offers, with their published files and hashes.

OpenAI's download addresses carry each file's SHA-256 as the folder name (open_clip's and OpenAI's
own loaders check it the same way); these are the addresses open_clip's pretrained table lists.
"""

from __future__ import annotations

from dataclasses import dataclass

from gan_eval import weights as core

_BASE = "https://openaipublic.azureedge.net/clip/models"


@dataclass(frozen=True)
class ClipModel:
    key: str  # "vitb32"
    title: str  # "ViT-B/32"
    file_name: str
    sha256: str
    image_size: int
    patch: int
    width: int
    layers: int
    embed_dim: int

    @property
    def heads(self) -> int:
        return self.width // 64

    @property
    def grid(self) -> int:
        return self.image_size // self.patch

    def spec(self) -> core.WeightsSpec:
        return core.WeightsSpec(
            name=f"clip-{self.key}",
            title=f"OpenAI CLIP {self.title} weights",
            file_names=(self.file_name,),
            url=f"{_BASE}/{self.sha256}/{self.file_name}",
            sha256=self.sha256,
            env=f"GAN_EVAL_CLIP_{self.key.upper().replace('-', '_')}_WEIGHTS",  # VITL14_336
            folders=(core.CLIP_CACHE, core.GAN_EVAL_CACHE),
        )

    def visual_layout(self, layers: int | None = None) -> dict[str, tuple[int, ...]]:
        """Keys (without ``visual.``) and shapes of the image tower in OpenAI's file."""
        w = self.width
        layout: dict[str, tuple[int, ...]] = {
            "class_embedding": (w,),
            "positional_embedding": (self.grid**2 + 1, w),
            "proj": (w, self.embed_dim),
            "conv1.weight": (w, 3, self.patch, self.patch),
            "ln_pre.weight": (w,),
            "ln_pre.bias": (w,),
            "ln_post.weight": (w,),
            "ln_post.bias": (w,),
        }
        for i in range(self.layers if layers is None else layers):
            b = f"transformer.resblocks.{i}."
            layout.update(
                {
                    b + "attn.in_proj_weight": (3 * w, w),
                    b + "attn.in_proj_bias": (3 * w,),
                    b + "attn.out_proj.weight": (w, w),
                    b + "attn.out_proj.bias": (w,),
                    b + "ln_1.weight": (w,),
                    b + "ln_1.bias": (w,),
                    b + "ln_2.weight": (w,),
                    b + "ln_2.bias": (w,),
                    b + "mlp.c_fc.weight": (4 * w, w),
                    b + "mlp.c_fc.bias": (4 * w,),
                    b + "mlp.c_proj.weight": (w, 4 * w),
                    b + "mlp.c_proj.bias": (w,),
                }
            )
        return layout


MODELS: dict[str, ClipModel] = {
    "vitb32": ClipModel("vitb32", "ViT-B/32", "ViT-B-32.pt", "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af", 224, 32, 768, 12, 512),
    "vitl14-336": ClipModel(
        "vitl14-336", "ViT-L/14@336px", "ViT-L-14-336px.pt", "3035c92b350959924f9f00213499208652fc7ea050643e8b385c2dac08641f02", 336, 14, 1024, 24, 768
    ),
}
