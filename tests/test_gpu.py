"""The CUDA path: exact mode on a GPU equals the CPU path within float32 tolerance (skipped without CUDA)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gan_eval.engine import run_pass
from gan_eval.numerics import numerics
from gan_eval.plugins import load_registry
from gan_eval.scoring import ScoreConfig, score
from gan_eval.source import SourceOptions
from gan_eval_plugins.sources.datasets import load_dataset

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (no GPU on this machine)"),
]


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """Real digits as two .npy sets: 300 test digits (generated) and 300 training digits (reference)."""
    root = tmp_path_factory.mktemp("gpu")
    test, _ = load_dataset("mnist5k", "test")
    train, _ = load_dataset("mnist5k", "train")
    np.save(root / "gen.npy", test[:300])
    np.save(root / "ref.npy", train[:300])
    return str(root / "gen.npy"), str(root / "ref.npy")


@pytest.fixture(scope="module")
def standin_weights(tmp_path_factory):
    from gan_eval_plugins.inception import standin_weights_file

    return str(standin_weights_file(tmp_path_factory.mktemp("weights")))


def _values(config: ScoreConfig) -> dict[str, dict[str, float]]:
    outcome = score(load_registry(), config)
    return {r["name"]: r["values"] for r in outcome.results}


def _config(digits, device, **kw) -> ScoreConfig:
    gen, ref = digits
    base = dict(
        generated=gen,
        reference=ref,
        metrics=["fid", "is", "kid", "laplacian"],
        device=device,
        use_cache=False,
        batch_size=50,
        metric_params={"kid": {"subset_size": 100, "subsets": 10}},
    )
    return ScoreConfig(**{**base, **kw})


def _assert_close(a, b, rel):
    assert a.keys() == b.keys()
    for name in a:
        for key, value in a[name].items():
            assert b[name][key] == pytest.approx(value, rel=rel, abs=1e-6), (name, key)


def test_domain_extractor_exact_cuda_equals_cpu(digits):
    cpu = _values(_config(digits, "cpu", extractor="mnist-cnn"))
    gpu = _values(_config(digits, "cuda", extractor="mnist-cnn", workers=2))
    _assert_close(cpu, gpu, rel=1e-4)


def test_inception_exact_cuda_equals_cpu(digits, standin_weights):
    params = {"weights": standin_weights, "allow_nonstandard": True}
    small = dict(metrics=["fid", "is"], extractor="inception", extractor_params=params, batch_size=25, source_options={"limit": 50}, metric_params={})
    cpu = _values(_config(digits, "cpu", **small))
    gpu = _values(_config(digits, "cuda", **small))
    _assert_close(cpu, gpu, rel=1e-4)


def test_inception_features_cuda_equal_cpu(standin_weights):
    from gan_eval_plugins.inception import InceptionExtractor

    images = torch.from_numpy(load_dataset("mnist5k", "test")[0][:16]).unsqueeze(1).expand(-1, 3, -1, -1).contiguous()
    params = {"weights": standin_weights, "allow_nonstandard": True}
    with numerics("exact"):
        cpu = InceptionExtractor("cpu", **params)(images)["features"]
        gpu = InceptionExtractor("cuda", **params)(images.cuda())["features"].cpu()
    assert torch.allclose(cpu, gpu, rtol=1e-4, atol=1e-4), (cpu - gpu).abs().max()


def test_fast_mode_on_cuda_is_close_to_exact(digits, standin_weights):
    params = {"weights": standin_weights, "allow_nonstandard": True}
    small = dict(metrics=["fid"], extractor="inception", extractor_params=params, batch_size=25, source_options={"limit": 50}, metric_params={})
    exact = _values(_config(digits, "cuda", **small))
    fast = _values(_config(digits, "cuda", numerics="fast", **small))
    assert fast["fid@inception"]["fid"] == pytest.approx(exact["fid@inception"]["fid"], rel=0.05)


def test_pinned_worker_pipeline_equals_main_process_pipeline(digits):
    from gan_eval_plugins.laplacian import VarianceOfLaplacian
    from gan_eval_plugins.sources.arrays import NpySource

    source = NpySource(digits[0], SourceOptions())
    metric = VarianceOfLaplacian()
    inline = run_pass(source, [metric], None, batch_size=32, device="cuda", workers=0)
    workers = run_pass(source, [metric], None, batch_size=32, device="cuda", workers=2)
    assert inline.count == workers.count == 300
    assert torch.equal(inline.states["laplacian"].get("values"), workers.states["laplacian"].get("values"))
    assert np.array_equal(inline.preview, workers.preview)
