"""DINOv2: our features equal transformers' Dinov2Model with the converted weights, the position
embeddings are resampled exactly as the official model does, and the dgm-eval / torch-fidelity
preprocessing profiles equal those projects' pipelines."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torchvision.transforms as T
from PIL import Image

from gan_eval_plugins.dinov2 import write_standin_weights
from gan_eval_plugins.dinov2.architectures import ARCHS, POS_EMBED_OFFSET
from gan_eval_plugins.dinov2.extractor import DinoV2ViTS14
from gan_eval_plugins.dinov2.network import ClsTokenViT, build_network, resample_pos_embed
from gan_eval_plugins.dinov2.preprocess import PROFILES

pytestmark = pytest.mark.usefixtures("isolated_weights_env")


def images(n: int, size: int, gray: bool = False, seed: int = 0) -> torch.Tensor:
    """uint8 N×3×size×size: smooth ramps plus noise (gray: three equal channels, as the engine gives gray data)."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 180, size)[None, None, :, None] + np.linspace(0, 60, size)[None, :, None, None]
    x = (ramp + rng.integers(-60, 60, (n, size, size, 1 if gray else 3))).clip(0, 255).astype(np.uint8)
    x = np.repeat(x, 3, axis=3) if gray else x
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()


# --- position embeddings ------------------------------------------------------------------------------
def cubic_weights(t: float, a: float = -0.75) -> list[float]:
    """Keys' cubic convolution weights for taps at -1, 0, 1, 2 (PyTorch's bicubic uses a = -0.75)."""

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def reference_resample(grid_in: np.ndarray, out: int, scale: float) -> np.ndarray:
    """Bicubic M×M×D → out×out×D in float64, source coordinate (i + 0.5) / scale − 0.5, edges clamped:
    written from the definition, not from torch, to check what the official model computes."""
    m = grid_in.shape[0]

    def matrix():
        w = np.zeros((out, m))
        for i in range(out):
            src = (i + 0.5) / scale - 0.5
            base = math.floor(src)
            for k, weight in zip(range(-1, 3), cubic_weights(src - base)):
                w[i, min(max(base + k, 0), m - 1)] += weight
        return w

    w = matrix()
    return np.einsum("ij,jkd,lk->ild", w, grid_in, w)


def test_position_embeddings_are_resampled_as_the_official_model_does():
    pos = torch.randn(1, 1 + 37 * 37, 8, generator=torch.Generator().manual_seed(1))
    ours = resample_pos_embed(pos, 16)
    assert ours.shape == (1, 1 + 256, 8) and torch.equal(ours[:, 0], pos[:, 0])
    grid = pos[0, 1:].double().numpy().reshape(37, 37, 8)
    official = reference_resample(grid, 16, (16 + POS_EMBED_OFFSET) / 37).reshape(256, 8)
    # torch (like the official model, which calls the same F.interpolate) computes the source
    # coordinates in float32: up to ~1e-5 from the float64 reference; the wrong scale is 1000x further
    np.testing.assert_allclose(ours[0, 1:].double().numpy(), official, rtol=0, atol=5e-5)
    plain = reference_resample(grid, 16, 16 / 37).reshape(256, 8)  # transformers' and timm's size-based grid
    assert np.abs(official - plain).max() > 1e-2  # the offset matters: a size-based resize would be caught


# --- the network ----------------------------------------------------------------------------------
def transformers_dinov2(state: dict[str, torch.Tensor], arch_key: str, depth: int):
    """transformers' Dinov2Model at 224×224 input with the official weights converted to its names.
    Its own interpolation is size-based (16/37), unlike the official model's, so it gets position
    embeddings resampled by the official call (bicubic, no antialias, scale (16 + 0.1) / 37)."""
    transformers = pytest.importorskip("transformers")
    arch = ARCHS[arch_key]
    config = transformers.Dinov2Config(
        hidden_size=arch.dim,
        num_hidden_layers=depth,
        num_attention_heads=arch.heads,
        mlp_ratio=4,
        image_size=224,
        patch_size=14,
        layer_norm_eps=1e-6,
        layerscale_value=1.0,
        use_swiglu_ffn=arch.swiglu,
        hidden_act="gelu",
        qkv_bias=True,
    )
    model = transformers.Dinov2Model(config).eval()
    d = arch.dim
    grid = state["pos_embed"][:, 1:].reshape(1, 37, 37, d).permute(0, 3, 1, 2)
    scale = (16 + POS_EMBED_OFFSET) / 37
    patches = torch.nn.functional.interpolate(grid, scale_factor=(scale, scale), mode="bicubic", antialias=False)
    patches = patches.permute(0, 2, 3, 1).reshape(1, 256, d)
    hf = {
        "embeddings.cls_token": state["cls_token"],
        "embeddings.mask_token": state["mask_token"],
        "embeddings.position_embeddings": torch.cat([state["pos_embed"][:, :1], patches], dim=1),
        "embeddings.patch_embeddings.projection.weight": state["patch_embed.proj.weight"],
        "embeddings.patch_embeddings.projection.bias": state["patch_embed.proj.bias"],
        "layernorm.weight": state["norm.weight"],
        "layernorm.bias": state["norm.bias"],
    }
    for i in range(depth):
        b, h = f"blocks.{i}.", f"encoder.layer.{i}."
        q, k, v = state[b + "attn.qkv.weight"].chunk(3)
        qb, kb, vb = state[b + "attn.qkv.bias"].chunk(3)
        hf.update(
            {
                h + "norm1.weight": state[b + "norm1.weight"],
                h + "norm1.bias": state[b + "norm1.bias"],
                h + "attention.q_proj.weight": q,
                h + "attention.q_proj.bias": qb,
                h + "attention.k_proj.weight": k,
                h + "attention.k_proj.bias": kb,
                h + "attention.v_proj.weight": v,
                h + "attention.v_proj.bias": vb,
                h + "attention.o_proj.weight": state[b + "attn.proj.weight"],
                h + "attention.o_proj.bias": state[b + "attn.proj.bias"],
                h + "layer_scale1.lambda1": state[b + "ls1.gamma"],
                h + "layer_scale2.lambda1": state[b + "ls2.gamma"],
                h + "norm2.weight": state[b + "norm2.weight"],
                h + "norm2.bias": state[b + "norm2.bias"],
            }
        )
        if arch.swiglu:
            gate, up = state[b + "mlp.w12.weight"].chunk(2)
            gate_b, up_b = state[b + "mlp.w12.bias"].chunk(2)
            hf.update(
                {
                    h + "mlp.gate_proj.weight": gate,
                    h + "mlp.gate_proj.bias": gate_b,
                    h + "mlp.up_proj.weight": up,
                    h + "mlp.up_proj.bias": up_b,
                    h + "mlp.down_proj.weight": state[b + "mlp.w3.weight"],
                    h + "mlp.down_proj.bias": state[b + "mlp.w3.bias"],
                }
            )
        else:
            hf.update(
                {
                    h + "mlp.fc1.weight": state[b + "mlp.fc1.weight"],
                    h + "mlp.fc1.bias": state[b + "mlp.fc1.bias"],
                    h + "mlp.fc2.weight": state[b + "mlp.fc2.weight"],
                    h + "mlp.fc2.bias": state[b + "mlp.fc2.bias"],
                }
            )
    model.load_state_dict(hf, strict=True)
    return model


def dgm_eval_reference(batch: torch.Tensor) -> torch.Tensor:
    """dgm-eval's DINOv2 transform, as dgm-eval writes it: PIL image → Resize((224, 224), BICUBIC) →
    ToTensor → Normalize(ImageNet mean, std), image by image."""
    transform = T.Compose(
        [T.Resize((224, 224), T.InterpolationMode.BICUBIC), T.ToTensor(), T.Normalize(np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225]))]
    )
    return torch.stack([transform(Image.fromarray(a).convert("RGB")) for a in batch.permute(0, 2, 3, 1).numpy()])


def test_vits14_features_equal_transformers_dinov2_model(dinov2_standin):
    batch = images(3, 48)
    ours = DinoV2ViTS14("cpu", weights=str(dinov2_standin))(batch)["features"]
    state = torch.load(dinov2_standin, weights_only=True)
    hf = transformers_dinov2(state, "vits14", ARCHS["vits14"].depth)
    with torch.no_grad():
        theirs = hf(pixel_values=dgm_eval_reference(batch)).pooler_output
    assert ours.shape == (3, 384)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)
    spread = (ours - ours.mean(0)).norm(dim=1).mean() / ours.norm(dim=1).mean()
    assert spread > 0.1  # the stand-in's features really depend on the image


def test_vitg14_swiglu_block_equals_transformers(tmp_path):
    """ViT-g/14's SwiGLU feed-forward (w12/w3 → timm's packed fc1/fc2), one block only to stay small
    (so the block is the last one, which computes the CLS token alone)."""
    path = write_standin_weights(tmp_path / "g.pth", "vitg14", seed=3, depth=1)
    network = ClsTokenViT(build_network(ARCHS["vitg14"], path, depth=1))
    hf = transformers_dinov2(torch.load(path, weights_only=True), "vitg14", 1)
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(network(x), hf(pixel_values=x).pooler_output, rtol=0, atol=1e-5)


# --- preprocessing --------------------------------------------------------------------------------
@pytest.mark.parametrize("size,gray", [(28, True), (32, False), (64, False), (256, False)])
def test_dgm_eval_profile_equals_dgm_eval_pipeline(size, gray):
    batch = images(3, size, gray=gray, seed=size)
    ours = PROFILES["dgm-eval"](batch)
    theirs = dgm_eval_reference(batch)
    assert ours.shape == (3, 3, 224, 224)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)


@pytest.mark.parametrize("size", [28, 64, 256])
def test_torch_fidelity_profile_equals_torch_fidelity_dinov2_input(size):
    tf_interp = pytest.importorskip("torch_fidelity.interpolate_compat_tensorflow")
    batch = images(2, size, seed=size)
    x = tf_interp.interpolate_bilinear_2d_like_tensorflow1x(batch.float(), size=(224, 224), align_corners=False)
    theirs = T.functional.normalize(x, (255 * 0.485, 255 * 0.456, 255 * 0.406), (255 * 0.229, 255 * 0.224, 255 * 0.225))
    torch.testing.assert_close(PROFILES["torch-fidelity"](batch), theirs, rtol=0, atol=1e-6)


def test_profiles_differ_so_the_choice_is_recorded(dinov2_standin):
    batch = images(2, 32)
    dgm = DinoV2ViTS14("cpu", weights=str(dinov2_standin))
    tf = DinoV2ViTS14("cpu", weights=str(dinov2_standin), profile="torch-fidelity")
    assert not torch.allclose(dgm(batch)["features"], tf(batch)["features"], atol=1e-3)
    assert dgm.identity()["profile"] == "dgm-eval" and tf.identity()["profile"] == "torch-fidelity"


def test_concurrent_calls_give_the_serial_features_and_leave_the_network_as_it_was(dinov2_standin):
    """The engine's CPU streams call the extractor from several threads at once (thread_safe): the
    CLS-only last block reads one shared float64 copy of its weights, made once, and never swaps the
    module's own parameters."""
    from concurrent.futures import ThreadPoolExecutor

    extractor = DinoV2ViTS14("cpu", weights=str(dinov2_standin))
    assert extractor.thread_safe
    batches = [images(2, 32, seed=s) for s in range(6)]
    serial = [extractor(b)["features"] for b in batches]
    twin = extractor.network.wide.get()
    with ThreadPoolExecutor(4) as pool:
        for _ in range(2):
            concurrent = list(pool.map(lambda b: extractor(b)["features"], batches))
            for a, b in zip(serial, concurrent):
                assert torch.equal(a, b)
    assert extractor.network.wide.get() is twin  # made once, shared by every thread
    assert {p.dtype for p in extractor.network.parameters()} == {torch.float32}
    assert all(not k.startswith("wide") for k in extractor.network.state_dict())
    extractor.network.double()  # new tensors: the float64 copy is made again from them
    assert extractor.network.wide.get() is not twin
