"""The inception extractor gives the peers' numbers: torch-fidelity (tf1 profile) and pytorch-fid
(pytorch-fid profile), loaded with the same stand-in weights file, at 28×28 gray, 32, 64 and 299."""

from __future__ import annotations

import pytest
import torch

from gan_eval_plugins.inception import InceptionExtractor

SIZES = [(28, True), (32, False), (64, False), (299, False)]
ATOL = 1e-5


pytestmark = pytest.mark.usefixtures("isolated_inception_env")


@pytest.fixture(scope="module")
def weights(standin_weights):
    return standin_weights


def images(size: int, gray: bool, n: int = 2, seed: int = 0) -> torch.Tensor:
    """Structured images (gradients plus noise), not only noise: uint8 N×3×size×size."""
    generator = torch.Generator().manual_seed(seed + size)
    ramp = torch.linspace(0, 255, size)
    base = (ramp.view(1, 1, size, 1) * 0.5 + ramp.view(1, 1, 1, size) * 0.5).expand(n, 3, size, size)
    noise = torch.randint(-60, 60, (n, 3, size, size), generator=generator).float()
    x = (base + noise).clamp(0, 255).to(torch.uint8)
    if gray:
        x = x[:, :1].expand(n, 3, size, size).contiguous()  # what the engine gives for gray images
    return x


@pytest.fixture(scope="module")
def fidelity(weights):
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    return FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"], feature_extractor_weights_path=str(weights))


@pytest.fixture(scope="module")
def pytorch_fid_model(weights):
    import pytorch_fid.inception as pfi

    original = pfi.load_state_dict_from_url
    pfi.load_state_dict_from_url = lambda *args, **kwargs: torch.load(weights, map_location="cpu", weights_only=True)
    try:
        return pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
    finally:
        pfi.load_state_dict_from_url = original


@pytest.mark.parametrize("size,gray", SIZES, ids=[f"{s}{'gray' if g else ''}" for s, g in SIZES])
def test_tf1_profile_equals_torch_fidelity(weights, fidelity, size, gray):
    x = images(size, gray)
    ours = InceptionExtractor("cpu", weights=str(weights), allow_nonstandard="true")(x)
    with torch.no_grad():
        pool, logits_unbiased = fidelity(x)
    assert ours["features"].shape == (len(x), 2048) and ours["logits"].shape == (len(x), 1008)
    assert ours["features"].std() > 0.01  # the stand-in is not degenerate: the comparison means something
    torch.testing.assert_close(ours["features"], pool, atol=ATOL, rtol=0)
    torch.testing.assert_close(ours["logits"], logits_unbiased, atol=ATOL, rtol=0)


@pytest.mark.parametrize("size,gray", SIZES, ids=[f"{s}{'gray' if g else ''}" for s, g in SIZES])
def test_pytorch_fid_profile_equals_pytorch_fid(weights, pytorch_fid_model, size, gray):
    x = images(size, gray, seed=1)
    ours = InceptionExtractor("cpu", weights=str(weights), allow_nonstandard=True, profile="pytorch-fid")(x)
    with torch.no_grad():
        theirs = pytorch_fid_model(x.float() / 255)[0].squeeze(3).squeeze(2)  # ToTensor() then the model, as fid_score does
    torch.testing.assert_close(ours["features"], theirs, atol=ATOL, rtol=0)


def test_profiles_differ_where_they_should(weights):
    """On 32×32 input the three resizes give different features (the profile is not a no-op)."""
    small = images(32, False, n=1)
    out = {p: InceptionExtractor("cpu", weights=str(weights), allow_nonstandard=True, profile=p) for p in ("tf1", "pytorch-fid", "clean")}
    feats = {p: e(small)["features"] for p, e in out.items()}
    assert (feats["tf1"] - feats["pytorch-fid"]).abs().max() > 1e-3
    assert (feats["tf1"] - feats["clean"]).abs().max() > 1e-3


def test_batch_composition_does_not_change_features(weights):
    """Each image's features are its own: a batch of 2 equals the images run one by one."""
    extractor = InceptionExtractor("cpu", weights=str(weights), allow_nonstandard=True)
    x = images(32, False, n=2, seed=5)
    together = extractor(x)["features"]
    alone = torch.cat([extractor(x[i : i + 1])["features"] for i in range(2)])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=0)


def test_the_engines_cpu_chunks_give_the_whole_batch_features(weights):
    """The engine calls inception in chunks of ``cpu_chunk`` on a CPU (faster); the outputs are the same."""
    from gan_eval.engine import extract

    extractor = InceptionExtractor("cpu", weights=str(weights), allow_nonstandard=True)
    assert extractor.cpu_chunk and extractor.cpu_chunk < 11
    x = images(32, False, n=11, seed=6)
    whole, chunked = extractor(x), extract(extractor, x)
    for name in ("features", "logits"):
        torch.testing.assert_close(chunked[name], whole[name], atol=ATOL, rtol=0)


def test_streams_make_exact_features_independent_of_the_thread_count(weights):
    """With CPU streams every chunk runs single-threaded, so a 2-thread and a 1-thread process give
    the same bits, and they are the extractor's own single-threaded outputs (a 2-thread call of the
    same chunk rounds differently, ~4e-5: gan_eval/streams.py)."""
    from gan_eval.engine import extract
    from gan_eval.streams import CpuStreams, resolve_streams

    extractor = InceptionExtractor("cpu", weights=str(weights), allow_nonstandard=True)
    x = images(32, False, n=12, seed=7)
    before = torch.get_num_threads()
    outputs = {}
    try:
        for threads in (2, 1):
            torch.set_num_threads(threads)
            with CpuStreams(resolve_streams("auto", "cpu")) as streams:
                outputs[threads] = extract(extractor, x, streams)
        alone = [extractor(x[i : i + 4]) for i in range(0, 12, 4)]
    finally:
        torch.set_num_threads(before)
    for name in ("features", "logits"):
        assert torch.equal(outputs[2][name], outputs[1][name])
        assert torch.equal(outputs[1][name], torch.cat([part[name] for part in alone]))
