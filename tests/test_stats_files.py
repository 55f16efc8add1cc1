"""Stats files: gan-eval stats, --ref stats:FILE, pytorch-fid compatibility both ways, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cache_fakes import write_images
from gan_eval.errors import InputError
from gan_eval.engine import Bound
from gan_eval.stats_files import read_stats, reference_states, stats_path
from gan_eval_plugins.fid import FrechetDistance
from gan_eval.cli.output import EXIT_INPUT, EXIT_USAGE

PLUGIN = str(Path(__file__).with_name("cache_fakes.py"))
COMMON = ["--extractor", "fake", "--plugin", PLUGIN, "--device", "cpu", "-q"]


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_EVAL_CACHE_DIR", str(tmp_path / "cache"))
    return write_images(tmp_path / "gen.npy", 50, 1, shift=15), write_images(tmp_path / "ref.npy", 70, 2), tmp_path


def scores(run_cli, gen, ref, *metrics, extra=()):
    args = ["score", gen, "--ref", ref, *[a for m in metrics for a in ("-m", m)], "--json", "--no-cache", *COMMON, *extra]
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    return {r["metric"]: r["values"] for r in json.loads(result.stdout)["results"]}


def make_stats(run_cli, ref, out, *metrics, extra=()):
    result = run_cli("stats", ref, "-o", out, *[a for m in metrics for a in ("-m", m)], *COMMON, *extra)
    assert result.exit_code == 0, result.output
    return result


def test_stats_file_gives_the_same_scores_as_the_reference_itself(run_cli, files):
    gen, ref, tmp = files
    make_stats(run_cli, ref, tmp / "ref-stats.npz", "fid", "kid", "pr", "is")
    direct = scores(run_cli, gen, ref, "fid", "kid", "pr", "is")
    assert scores(run_cli, gen, f"stats:{tmp / 'ref-stats.npz'}", "fid", "kid", "pr", "is") == direct
    assert scores(run_cli, gen, str(tmp / "ref-stats.npz"), "fid") == {"fid": direct["fid"]}  # detected without prefix


def test_pytorch_fid_reads_our_file_and_we_read_its(run_cli, files):
    from pytorch_fid.fid_score import calculate_frechet_distance, compute_statistics_of_path

    gen, ref, tmp = files
    make_stats(run_cli, ref, tmp / "ours.npz", "fid")
    make_stats(run_cli, gen, tmp / "gen.npz", "fid")
    mu_ref, sigma_ref = compute_statistics_of_path(str(tmp / "ours.npz"), None, 1, 0, "cpu")
    mu_gen, sigma_gen = compute_statistics_of_path(str(tmp / "gen.npz"), None, 1, 0, "cpu")
    assert sigma_ref.shape == (mu_ref.size, mu_ref.size) and sigma_ref.dtype == np.float64
    fid = scores(run_cli, gen, ref, "fid")["fid"]["fid"]
    assert calculate_frechet_distance(mu_gen, sigma_gen, mu_ref, sigma_ref) == pytest.approx(fid, rel=1e-9)
    np.savez(tmp / "pytorch-fid.npz", mu=mu_ref, sigma=sigma_ref)  # what pytorch-fid --save-stats writes
    assert scores(run_cli, gen, f"stats:{tmp / 'pytorch-fid.npz'}", "fid")["fid"]["fid"] == pytest.approx(fid, rel=1e-9)


def test_pytorch_fid_file_serves_fid_only(run_cli, files):
    gen, _, tmp = files
    np.savez(tmp / "pf.npz", mu=np.zeros(18), sigma=np.eye(18))
    result = run_cli("score", gen, "--ref", f"stats:{tmp / 'pf.npz'}", "-m", "fid", "-m", "kid", *COMMON)
    assert result.exit_code == EXIT_USAGE and "serves fid only, not kid" in result.output


def test_other_extractor_is_refused(run_cli, files):
    gen, ref, tmp = files
    make_stats(run_cli, ref, tmp / "s.npz", "fid")
    result = run_cli("score", gen, "--ref", f"stats:{tmp / 's.npz'}", "-m", "fid", "-O", "fake.scale=2", *COMMON)
    assert result.exit_code == EXIT_USAGE and "was made with extractor" in result.output


def test_missing_required_metric_is_refused_and_optional_one_noted(run_cli, files):
    gen, ref, tmp = files
    make_stats(run_cli, ref, tmp / "s.npz", "fid")
    result = run_cli("score", gen, "--ref", f"stats:{tmp / 's.npz'}", "-m", "kid", *COMMON)
    assert result.exit_code == EXIT_USAGE and "not for kid" in result.output
    result = run_cli("score", gen, "--ref", f"stats:{tmp / 's.npz'}", "-m", "fid", "-m", "is", *COMMON)
    assert result.exit_code == 0 and "no reference statistics for is" in result.output


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"mu": np.zeros((3, 3)), "sigma": np.eye(3)}, "the mean must be a non-empty vector"),
        ({"mu": np.zeros(3), "sigma": np.eye(4)}, "the covariance must be 3×3 to match the mean"),
        ({"mu": np.zeros(3, dtype=np.int64), "sigma": np.eye(3, dtype=np.int64)}, "floating point"),
        ({"images": np.zeros((2, 8, 8))}, "not a stats file"),
    ],
)
def test_bad_arrays_name_the_file(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    fid = Bound("fid@x", FrechetDistance())
    with pytest.raises(InputError, match=message) as info:
        reference_states(read_stats(path), [fid])
    assert str(path) in str(info.value)


def test_bad_header_and_unknown_arrays_name_the_file(tmp_path, run_cli, files):
    _, ref, _ = files
    make_stats(run_cli, ref, tmp_path / "good.npz", "fid")
    with np.load(tmp_path / "good.npz") as archive:
        contents = dict(archive)
    np.savez(tmp_path / "extra.npz", **contents, **{"fid/unknown": np.zeros(2)})
    with pytest.raises(InputError, match="unexpected array 'fid/unknown'"):
        read_stats(tmp_path / "extra.npz")
    contents["__header__"] = np.frombuffer(b'{"format": "something-else/9"}', dtype=np.uint8)
    np.savez(tmp_path / "foreign.npz", **contents)
    with pytest.raises(InputError, match="unsupported stats format"):
        read_stats(tmp_path / "foreign.npz")


def test_garbage_and_missing_files_are_clear_errors(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"\x00" * 100)
    with pytest.raises(InputError, match="junk.npz"):
        read_stats(tmp_path / "junk.npz")
    with pytest.raises(InputError, match="no such stats file"):
        read_stats(tmp_path / "absent.npz")


def test_pickled_arrays_are_refused(tmp_path):
    np.savez(tmp_path / "pickled.npz", mu=np.array([object()], dtype=object), sigma=np.eye(1))
    with pytest.raises(InputError, match="pickled.npz"):
        read_stats(tmp_path / "pickled.npz")


def test_image_npz_is_not_taken_for_stats(tmp_path):
    np.savez(tmp_path / "images.npz", images=np.zeros((2, 8, 8), dtype=np.uint8))
    assert stats_path(str(tmp_path / "images.npz")) is None
    assert stats_path(f"stats:{tmp_path / 'whatever.npz'}") == tmp_path / "whatever.npz"


def test_record_and_verify_with_a_stats_reference(run_cli, files):
    gen, ref, tmp = files
    make_stats(run_cli, ref, tmp / "s.npz", "fid")
    result = run_cli("score", gen, "--ref", f"stats:{tmp / 's.npz'}", "-m", "fid", "--out", tmp / "run.json", *COMMON)
    assert result.exit_code == 0, result.output
    reference = json.loads((tmp / "run.json").read_text())["inputs"]["reference"]
    assert reference["kind"] == "stats" and reference["count"] == 70 and reference["made_from"].endswith("ref.npy")
    refused = run_cli("verify", tmp / "run.json")  # the record lists the plugin file: its code runs only when allowed
    assert refused.exit_code == EXIT_USAGE and "--allow-code" in refused.output
    result = run_cli("verify", tmp / "run.json", "--allow-code")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "replace, message",
    [
        ({"fid@fake/outer": np.zeros((3, 4))}, "fid statistics have inconsistent shapes"),
        ({"fid@fake/sum": np.zeros((2, 2))}, "fid statistics have inconsistent shapes"),
    ],
)
def test_wrong_state_shapes_name_the_file(tmp_path, run_cli, files, replace, message):
    gen, ref, _ = files
    make_stats(run_cli, ref, tmp_path / "good.npz", "fid")
    with np.load(tmp_path / "good.npz") as archive:
        contents = {**dict(archive), **replace}
    np.savez(tmp_path / "bad-shapes.npz", **contents)
    result = run_cli("score", gen, "--ref", f"stats:{tmp_path / 'bad-shapes.npz'}", "-m", "fid", *COMMON)
    assert result.exit_code == EXIT_INPUT and message in result.output and "bad-shapes.npz" in result.output
