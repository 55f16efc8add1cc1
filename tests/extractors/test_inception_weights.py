"""Weights handling: where the file is looked for, the SHA-256 check, bad files, the hash cache."""

from __future__ import annotations

import hashlib
import os

import pytest
import torch

from gan_eval.errors import GanEvalError, InputError, UsageError
from gan_eval.extractor import SourceInfo
from gan_eval.plugins import load_registry
from gan_eval.scoring import select_extractor
from gan_eval_plugins.inception import InceptionExtractor
from gan_eval_plugins.inception import weights as weights_mod


pytestmark = pytest.mark.usefixtures("isolated_inception_env")


@pytest.fixture(scope="module")
def standin(standin_weights):
    return standin_weights


@pytest.fixture
def standin_is_standard(monkeypatch, standin):
    """Pretend the stand-in is the standard file, to test the standard path without the real file."""
    monkeypatch.setattr(weights_mod, "STANDARD_SHA256", hashlib.sha256(standin.read_bytes()).hexdigest())


def hub_dir(tmp_path):
    path = tmp_path / "torch" / "hub" / "checkpoints"
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_missing_weights_message_names_every_place_searched(tmp_path):
    reason = InceptionExtractor.unavailable_reason({})
    assert reason is not None
    assert "GAN_EVAL_INCEPTION_WEIGHTS" in reason and "-O inception.weights=PATH" in reason
    for name in weights_mod.FILE_NAMES:
        assert str(tmp_path / "torch" / "hub" / "checkpoints" / name) in reason
    assert "never downloads" in reason
    with pytest.raises(UsageError, match="standard Inception weights not found"):
        InceptionExtractor("cpu")


def test_explicit_or_environment_path_that_does_not_exist_is_an_error(tmp_path, monkeypatch):
    with pytest.raises(UsageError, match=r"inception.weights=.*nope.pth: no such file"):
        InceptionExtractor("cpu", weights=str(tmp_path / "nope.pth"))
    monkeypatch.setenv("GAN_EVAL_INCEPTION_WEIGHTS", str(tmp_path / "gone.pth"))
    assert "GAN_EVAL_INCEPTION_WEIGHTS=" in InceptionExtractor.unavailable_reason({})


@pytest.mark.parametrize("name", weights_mod.FILE_NAMES)
def test_found_in_torch_hub_cache_under_either_peer_name(tmp_path, standin, standin_is_standard, name):
    (hub_dir(tmp_path) / name).write_bytes(standin.read_bytes())
    assert InceptionExtractor.unavailable_reason({}) is None
    extractor = InceptionExtractor("cpu")
    assert extractor.weights.origin == "torch hub cache" and extractor.weights.path.name == name
    assert extractor.standard and extractor.identity()["standard"] is True


def test_parameter_wins_over_environment_which_wins_over_hub(tmp_path, monkeypatch, standin):
    (hub_dir(tmp_path) / weights_mod.FILE_NAMES[0]).write_bytes(b"hub")
    env_file = tmp_path / "env.pth"
    env_file.write_bytes(b"env")
    monkeypatch.setenv("GAN_EVAL_INCEPTION_WEIGHTS", str(env_file))
    assert weights_mod.locate({}).path == env_file
    assert weights_mod.locate({"weights": str(standin)}).path == standin
    monkeypatch.delenv("GAN_EVAL_INCEPTION_WEIGHTS")
    assert weights_mod.locate({}).origin == "torch hub cache"


def test_nonstandard_file_is_refused_without_the_flag(standin):
    with pytest.raises(UsageError) as info:
        InceptionExtractor("cpu", weights=str(standin))
    message = str(info.value)
    assert str(standin) in message and weights_mod.STANDARD_SHA256 in message
    assert "allow_nonstandard=true" in message
    assert "allow_nonstandard" in InceptionExtractor.unavailable_reason({"weights": str(standin)})


def test_nonstandard_file_accepted_with_flag_is_marked_nonstandard(standin):
    extractor = InceptionExtractor("cpu", weights=str(standin), allow_nonstandard="true")
    assert InceptionExtractor.standard is True  # the class describes the standard file...
    assert extractor.standard is False  # ...the instance tells the truth about the file it loaded
    identity = extractor.identity()
    assert identity["standard"] is False
    assert identity["weights_sha256"] == hashlib.sha256(standin.read_bytes()).hexdigest()
    assert identity["profile"] == "tf1" and "weights" not in identity["params"]


def test_auto_selection_skips_a_nonstandard_file_in_the_hub_cache(tmp_path, standin):
    (hub_dir(tmp_path) / weights_mod.FILE_NAMES[1]).write_bytes(standin.read_bytes())
    assert "SHA-256" in InceptionExtractor.unavailable_reason({})
    registry = load_registry(autoload=False)
    info = SourceInfo(height=32, width=32, channels=3)
    try:
        chosen = select_extractor(registry, "auto", {}, info, torch.device("cpu"))
    except GanEvalError as exc:  # no other extractor suits: the reason given must be ours
        assert "inception: " in str(exc) and "SHA-256" in str(exc)
    else:
        assert chosen.name != "inception"


def test_auto_selection_prefers_the_standard_inception(tmp_path, standin, standin_is_standard):
    (hub_dir(tmp_path) / weights_mod.FILE_NAMES[0]).write_bytes(standin.read_bytes())
    registry = load_registry(autoload=False)
    chosen = select_extractor(registry, "auto", {}, SourceInfo(height=28, width=28, channels=1), torch.device("cpu"))
    assert chosen.name == "inception" and chosen.standard


@pytest.mark.parametrize("content", [b"", b"not a zip file at all", "truncated"])
def test_corrupt_file_gives_a_clear_error_naming_it(tmp_path, standin, content):
    bad = tmp_path / "corrupt.pth"
    bad.write_bytes(standin.read_bytes()[:100_000] if content == "truncated" else content)
    with pytest.raises(UsageError, match="corrupt or truncated"):
        InceptionExtractor("cpu", weights=str(bad))  # its hash is not the standard one
    with pytest.raises(InputError) as info:
        InceptionExtractor("cpu", weights=str(bad), allow_nonstandard=True)
    assert str(bad) in str(info.value) and "corrupt or truncated" in str(info.value)


def test_state_dict_of_another_network_is_rejected(tmp_path, standin):
    other = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, other)
    with pytest.raises(InputError, match="not the Inception-v3 FID weights"):
        InceptionExtractor("cpu", weights=str(other), allow_nonstandard=True)
    wrong_shape = tmp_path / "wrong.pth"
    state = torch.load(standin, weights_only=True)
    state["fc.weight"] = torch.zeros(1000, 2048)
    torch.save(state, wrong_shape)
    with pytest.raises(InputError, match=r"wrong shape: fc.weight \(1000, 2048\)"):
        InceptionExtractor("cpu", weights=str(wrong_shape), allow_nonstandard=True)


def test_hash_is_cached_by_path_size_and_mtime(tmp_path, monkeypatch):
    target = tmp_path / "w.pth"
    target.write_bytes(b"abc")
    calls = []
    real = weights_mod._hash_file
    monkeypatch.setattr(weights_mod, "_hash_file", lambda p: calls.append(p) or real(p))
    first = weights_mod.file_sha256(target)
    assert first == hashlib.sha256(b"abc").hexdigest()
    assert weights_mod.file_sha256(target) == first and len(calls) == 1  # from the on-disk cache
    assert (tmp_path / "cache" / "weights-sha256.json").is_file()
    target.write_bytes(b"abd")  # same size: the new mtime invalidates
    os.utime(target, ns=(1, 2_000_000_000))
    assert weights_mod.file_sha256(target) == hashlib.sha256(b"abd").hexdigest() and len(calls) == 2


def test_corrupt_hash_cache_is_ignored(tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "weights-sha256.json").write_text("{not json")
    target = tmp_path / "w.pth"
    target.write_bytes(b"xyz")
    assert weights_mod.file_sha256(target) == hashlib.sha256(b"xyz").hexdigest()


@pytest.mark.parametrize("param,value", [("profile", "bicubic"), ("dtype", "float16"), ("autocast", "int8")])
def test_bad_choices_are_usage_errors(standin, param, value):
    with pytest.raises(UsageError, match=f"{param}='{value}' is not one of"):
        InceptionExtractor("cpu", weights=str(standin), allow_nonstandard=True, **{param: value})
