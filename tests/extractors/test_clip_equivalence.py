"""CLIP: open_clip's image tower with OpenAI's file equals transformers' CLIPVisionModelWithProjection
with the converted weights, and the preprocessing profiles equal the CMMD authors' and OpenAI's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision.transforms as T
from PIL import Image

from gan_eval_plugins.clip import write_standin_weights
from gan_eval_plugins.clip.extractor import ClipViTB32
from gan_eval_plugins.clip.models import MODELS
from gan_eval_plugins.clip.network import read_openai_file
from gan_eval_plugins.clip.preprocess import PROFILES

pytestmark = pytest.mark.usefixtures("isolated_weights_env")

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def images(n: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 180, width)[None, None, :, None] + np.linspace(0, 60, height)[None, :, None, None]
    x = (ramp + rng.integers(-60, 60, (n, height, width, 3))).clip(0, 255).astype(np.uint8)
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()


def transformers_clip(state: dict[str, torch.Tensor], key: str = "vitb32"):
    """transformers' CLIPVisionModelWithProjection with OpenAI's ``visual.*`` tensors under its names."""
    transformers = pytest.importorskip("transformers")
    m = MODELS[key]
    config = transformers.CLIPVisionConfig(
        hidden_size=m.width,
        intermediate_size=4 * m.width,
        num_hidden_layers=m.layers,
        num_attention_heads=m.heads,
        image_size=m.image_size,
        patch_size=m.patch,
        projection_dim=m.embed_dim,
        hidden_act="quick_gelu",
        layer_norm_eps=1e-5,
    )
    model = transformers.CLIPVisionModelWithProjection(config).eval()
    v = {k.removeprefix("visual."): t.float() for k, t in state.items() if k.startswith("visual.")}
    hf = {
        "vision_model.embeddings.class_embedding": v["class_embedding"],
        "vision_model.embeddings.patch_embedding.weight": v["conv1.weight"],
        "vision_model.embeddings.position_embedding.weight": v["positional_embedding"],
        "vision_model.pre_layrnorm.weight": v["ln_pre.weight"],
        "vision_model.pre_layrnorm.bias": v["ln_pre.bias"],
        "vision_model.post_layernorm.weight": v["ln_post.weight"],
        "vision_model.post_layernorm.bias": v["ln_post.bias"],
        "visual_projection.weight": v["proj"].t(),
    }
    for i in range(m.layers):
        b, h = f"transformer.resblocks.{i}.", f"vision_model.encoder.layers.{i}."
        q, k, w = v[b + "attn.in_proj_weight"].chunk(3)
        qb, kb, wb = v[b + "attn.in_proj_bias"].chunk(3)
        hf.update(
            {
                h + "self_attn.q_proj.weight": q,
                h + "self_attn.q_proj.bias": qb,
                h + "self_attn.k_proj.weight": k,
                h + "self_attn.k_proj.bias": kb,
                h + "self_attn.v_proj.weight": w,
                h + "self_attn.v_proj.bias": wb,
                h + "self_attn.out_proj.weight": v[b + "attn.out_proj.weight"],
                h + "self_attn.out_proj.bias": v[b + "attn.out_proj.bias"],
                h + "layer_norm1.weight": v[b + "ln_1.weight"],
                h + "layer_norm1.bias": v[b + "ln_1.bias"],
                h + "layer_norm2.weight": v[b + "ln_2.weight"],
                h + "layer_norm2.bias": v[b + "ln_2.bias"],
                h + "mlp.fc1.weight": v[b + "mlp.c_fc.weight"],
                h + "mlp.fc1.bias": v[b + "mlp.c_fc.bias"],
                h + "mlp.fc2.weight": v[b + "mlp.c_proj.weight"],
                h + "mlp.fc2.bias": v[b + "mlp.c_proj.bias"],
            }
        )
    missing, unexpected = model.load_state_dict(hf, strict=False)
    assert not unexpected and all("position_ids" in k for k in missing), (missing, unexpected)
    return model


def cmmd_reference(batch: torch.Tensor, size: int) -> torch.Tensor:
    """The CMMD authors' pipeline (io_util._center_crop_and_resize, /255, clip.normalize_image), per image in numpy."""
    out = []
    for a in batch.permute(0, 2, 3, 1).numpy():
        im = Image.fromarray(a)
        w, h = im.size
        side = min(w, h)
        top, left = (h - side) // 2, (w - side) // 2
        im = im.crop((left, top, left + side, top + side)).resize((size, size), resample=Image.BICUBIC)
        x = np.asarray(im).astype(np.float32) / np.float32(255.0)
        x = (x - np.array(CLIP_MEAN, dtype=np.float32)) / np.array(CLIP_STD, dtype=np.float32)
        out.append(torch.from_numpy(x).permute(2, 0, 1))
    return torch.stack(out)


def openai_reference(batch: torch.Tensor, size: int) -> torch.Tensor:
    """OpenAI's clip._transform: Resize(size, BICUBIC), CenterCrop(size), RGB, ToTensor, Normalize."""
    transform = T.Compose(
        [
            T.Resize(size, interpolation=T.InterpolationMode.BICUBIC),
            T.CenterCrop(size),
            lambda im: im.convert("RGB"),
            T.ToTensor(),
            T.Normalize(CLIP_MEAN, CLIP_STD),
        ]
    )
    return torch.stack([transform(Image.fromarray(a)) for a in batch.permute(0, 2, 3, 1).numpy()])


def test_vitb32_features_equal_transformers_clip_vision_model_with_projection(clip_standin):
    batch = images(3, 40, 40)
    ours = ClipViTB32("cpu", weights=str(clip_standin), allow_nonstandard=True)(batch)["features"]
    hf = transformers_clip(read_openai_file(clip_standin, "stand-in"))
    with torch.no_grad():
        theirs = torch.nn.functional.normalize(hf(pixel_values=cmmd_reference(batch, 224)).image_embeds, dim=-1)
    assert ours.shape == (3, 512)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)
    torch.testing.assert_close(ours.norm(dim=1), torch.ones(3))
    assert (ours - ours.mean(0)).norm(dim=1).mean() > 0.1  # the stand-in's embeddings depend on the image


def test_a_plain_state_dict_loads_like_the_torchscript_archive(tmp_path, clip_standin):
    plain = write_standin_weights(tmp_path / "ViT-B-32.pt", "vitb32", torchscript=False)
    archive = read_openai_file(clip_standin, "stand-in")
    state = read_openai_file(plain, "stand-in")
    assert state.keys() == archive.keys() and all(torch.equal(state[k], archive[k]) for k in state)
    assert all(t.dtype == torch.float16 for t in state.values())  # as OpenAI ships them


@pytest.mark.parametrize("height,width", [(28, 28), (32, 32), (64, 48), (256, 256), (300, 200)])
def test_cmmd_profile_equals_the_cmmd_authors_pipeline(height, width):
    batch = images(2, height, width, seed=height + width)
    torch.testing.assert_close(PROFILES["cmmd"](batch, 336), cmmd_reference(batch, 336), rtol=0, atol=1e-6)


@pytest.mark.parametrize("height,width", [(32, 32), (64, 48), (200, 300)])
def test_openai_profile_equals_openai_transform(height, width):
    batch = images(2, height, width, seed=height * width)
    torch.testing.assert_close(PROFILES["openai"](batch, 224), openai_reference(batch, 224), rtol=0, atol=1e-6)


def test_profiles_differ_on_non_square_images():
    batch = images(1, 64, 48)
    assert not torch.allclose(PROFILES["cmmd"](batch, 224), PROFILES["openai"](batch, 224), atol=1e-3)
