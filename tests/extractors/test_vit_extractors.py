"""DINOv2 and CLIP extractors as plugins: where the weights are found, the errors for missing, wrong
or foreign files, auto-selection unchanged, identity, bfloat16, and a score run end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from gan_eval.errors import GanEvalError, InputError, UsageError
from gan_eval.extractor import SourceInfo
from gan_eval.plugins import load_registry
from gan_eval.scoring import select_extractor
from gan_eval_plugins.clip.extractor import ClipViTB32, ClipViTL14336
from gan_eval_plugins.dinov2.extractor import EXTRACTORS as DINOV2, DinoV2ViTS14

pytestmark = pytest.mark.usefixtures("isolated_weights_env")


def batch(n=4, size=32, seed=0):
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.integers(0, 256, (n, 3, size, size), dtype=np.uint8))


def test_registered_through_entry_points_with_dimension_and_cost_in_the_summary():
    extractors = load_registry(autoload=False).extractors()
    for name, dim in (
        ("dinov2-vits14", 384),
        ("dinov2-vitb14", 768),
        ("dinov2-vitl14", 1024),
        ("dinov2-vitg14", 1536),
        ("clip-vitb32", 512),
        ("clip-vitl14-336", 768),
    ):
        cls = extractors[name]
        assert f"{dim}-d" in cls.summary and "cost" in cls.summary and "suits" in cls.summary
        assert cls.outputs == {"features"} and cls.standard is False and cls.priority < 0
        assert cls.weights_spec.name == name and cls.weights_spec.env.isidentifier()  # a settable variable


def test_missing_weights_name_every_place_searched(tmp_path):
    reason = DinoV2ViTS14.unavailable_reason({})
    for place in (
        "$GAN_EVAL_DINOV2_VITS14_WEIGHTS (not set)",
        str(tmp_path / "torch" / "hub" / "checkpoints" / "dinov2_vits14_pretrain.pth"),
        str(tmp_path / "cache" / "weights" / "dinov2_vits14_pretrain.pth"),
        "-O dinov2-vits14.weights=PATH",
        "gan-eval weights fetch dinov2-vits14",
        "https://dl.fbaipublicfiles.com/dinov2/dinov2_vits14/dinov2_vits14_pretrain.pth",
    ):
        assert place in reason
    clip_reason = ClipViTL14336.unavailable_reason({})
    assert str(tmp_path / "home" / ".cache" / "clip" / "ViT-L-14-336px.pt") in clip_reason
    with pytest.raises(UsageError, match="DINOv2 ViT-S/14 weights not found"):
        DinoV2ViTS14("cpu")


def test_found_in_the_torch_hub_cache_and_in_the_clip_cache(tmp_path, dinov2_standin, clip_standin):
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / "dinov2_vits14_pretrain.pth").write_bytes(dinov2_standin.read_bytes())
    assert DinoV2ViTS14.unavailable_reason({}) is None
    extractor = DinoV2ViTS14("cpu")
    assert extractor.weights.origin == "torch hub cache"
    clip_cache = tmp_path / "home" / ".cache" / "clip"
    clip_cache.mkdir(parents=True)
    (clip_cache / "ViT-B-32.pt").write_bytes(clip_standin.read_bytes())
    assert "not the published one" in ClipViTB32.unavailable_reason({})  # found, but it is not OpenAI's file
    assert ClipViTB32.unavailable_reason({"allow_nonstandard": "true"}) is None


def test_clip_file_with_the_wrong_hash_is_refused(clip_standin):
    with pytest.raises(UsageError) as info:
        ClipViTB32("cpu", weights=str(clip_standin))
    message = str(info.value)
    assert str(clip_standin) in message and ClipViTB32.weights_spec.sha256 in message
    assert "clip-vitb32.allow_nonstandard=true" in message
    accepted = ClipViTB32("cpu", weights=str(clip_standin), allow_nonstandard=True)
    assert accepted.identity()["published_weights"] is False


@pytest.mark.parametrize("content", [b"", b"not a weights file"])
def test_unreadable_files_name_the_file(tmp_path, content):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(content)
    with pytest.raises(InputError, match="corrupt or truncated"):
        DinoV2ViTS14("cpu", weights=str(bad))
    with pytest.raises(InputError, match="corrupt or truncated"):
        ClipViTB32("cpu", weights=str(bad), allow_nonstandard=True)


def test_a_file_of_another_network_is_refused_with_what_differs(tmp_path, dinov2_standin, clip_standin):
    with pytest.raises(InputError, match=r"is not the DINOv2 ViT-B/14 weights.*missing|wrong shape"):
        load_registry(autoload=False).extractor("dinov2-vitb14")("cpu", weights=str(dinov2_standin))
    with pytest.raises(InputError, match="is not the OpenAI CLIP ViT-B/32 weights"):
        ClipViTB32("cpu", weights=str(dinov2_standin), allow_nonstandard=True)
    with pytest.raises(InputError, match="OpenAI CLIP ViT-L/14@336px"):
        ClipViTL14336("cpu", weights=str(clip_standin), allow_nonstandard=True)


def test_auto_selection_never_picks_them_even_when_their_weights_are_there(tmp_path, dinov2_standin):
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / "dinov2_vits14_pretrain.pth").write_bytes(dinov2_standin.read_bytes())
    info = SourceInfo(height=32, width=32, channels=3)
    assert not any(cls.suits(info) for cls in (*DINOV2, ClipViTB32, ClipViTL14336))
    try:
        chosen = select_extractor(load_registry(autoload=False), "auto", {}, info, torch.device("cpu"))
    except GanEvalError:
        return  # no Inception weights here: auto finds nothing, and did not fall back to DINOv2
    assert not chosen.name.startswith(("dinov2", "clip"))


def test_identity_carries_weights_hash_profile_and_model(dinov2_standin):
    import hashlib

    identity = DinoV2ViTS14("cpu", weights=str(dinov2_standin), profile="torch-fidelity").identity()
    assert identity["weights_sha256"] == hashlib.sha256(dinov2_standin.read_bytes()).hexdigest()
    assert identity["profile"] == "torch-fidelity" and "dinov2_vits14" in identity["model"]
    assert "weights" not in identity["params"] and identity["standard"] is False


@pytest.mark.parametrize("param,value", [("profile", "clean"), ("dtype", "float16"), ("autocast", "int8")])
def test_bad_choices_are_usage_errors(dinov2_standin, param, value):
    with pytest.raises(UsageError, match=f"dinov2-vits14: {param}='{value}' is not one of"):
        DinoV2ViTS14("cpu", weights=str(dinov2_standin), **{param: value})


def test_bfloat16_stays_close_to_float32_and_is_recorded(dinov2_standin, clip_standin):
    images = batch(3)
    for cls, kw in ((DinoV2ViTS14, {"weights": str(dinov2_standin)}), (ClipViTB32, {"weights": str(clip_standin), "allow_nonstandard": True})):
        exact = cls("cpu", **kw)(images)["features"]
        fast = cls("cpu", dtype="bfloat16", **kw)
        low = fast(images)["features"]
        assert low.dtype == torch.float32 and fast.identity()["params"]["dtype"] == "bfloat16"
        cosine = torch.nn.functional.cosine_similarity(exact, low, dim=1)
        assert (cosine > 0.99).all() and not torch.equal(exact, low)


def write_folder(folder, seed, brighter=0):
    folder.mkdir()
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 200, 32)[None, :, None]
    for i in range(6):
        Image.fromarray((ramp + rng.integers(-50, 50, (32, 32, 3)) + brighter).clip(0, 255).astype(np.uint8)).save(folder / f"{i}.png")
    return folder


def test_score_fid_in_dinov2_space_end_to_end(tmp_path, dinov2_standin):
    from gan_eval.cli import main

    generated = write_folder(tmp_path / "generated", 1, brighter=40)
    reference = write_folder(tmp_path / "reference", 2)
    args = [
        "score",
        str(generated),
        "--ref",
        str(reference),
        "-m",
        "fid",
        "--extractor",
        "dinov2-vits14",
        "-O",
        f"dinov2-vits14.weights={dinov2_standin}",
        "--device",
        "cpu",
        "--batch-size",
        "6",
        "-q",
        "--no-cache",
        "--json",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert fid_of(result.stdout) > 0
    same = CliRunner().invoke(main, [*args[:3], str(generated), *args[4:]])  # generated against itself
    assert same.exit_code == 0, same.output
    assert fid_of(same.stdout) == pytest.approx(0, abs=1e-6)


def fid_of(stdout: str) -> float:
    printed = json.loads(stdout)
    results = printed["results"] if isinstance(printed, dict) else printed  # the record, or its result rows
    (row,) = [r for r in results if r["name"] == "fid@dinov2-vits14"]
    return row["values"]["fid"]
