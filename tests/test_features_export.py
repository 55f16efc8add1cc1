"""``gan-eval features``: exported features round-trip into the same scores, without the network."""

from __future__ import annotations

import json

import numpy as np
import pytest

import gan_eval

REF = ("--ref", "dataset:mnist5k:train", "--limit-ref", "150")


def test_features_written_read_and_scored_give_the_same_fid(run_cli, tmp_path, mnist_test_digits):
    feats = tmp_path / "test-feats.npz"
    written = run_cli("features", "dataset:mnist5k:test", "-o", feats, "--extractor", "mnist-cnn", "--limit", "120", "-q")
    assert written.exit_code == 0, written.output
    with np.load(feats) as archive:
        assert archive["features"].shape[0] == 120 and archive["labels"].shape == (120,) and "logits" in archive.files
        header = json.loads(archive["__header__"].tobytes().decode())
    assert header["extractor"]["extractor"] == "mnist-cnn" and header["source"]["count"] == 120
    direct = run_cli("score", "dataset:mnist5k:test", *REF, "-m", "fid", "-m", "kid", "-m", "is", "--limit", "120", "--json", "-q")
    again = run_cli("score", f"features:{feats}", *REF, "-m", "fid", "-m", "kid", "-m", "is", "--json", "-q")
    assert direct.exit_code == 0 and again.exit_code == 0, again.output
    values = [{r["name"]: r["values"] for r in json.loads(run.stdout)["results"]} for run in (direct, again)]
    assert values[0].keys() == values[1].keys() == {"fid@mnist-cnn", "kid@mnist-cnn", "is@mnist-cnn"}
    for name in values[0]:
        for key, value in values[0][name].items():
            assert values[1][name][key] == pytest.approx(value, rel=1e-12, abs=1e-12), (name, key)
    in_python = gan_eval.features("dataset:mnist5k:test", extractor="mnist-cnn", limit=120)
    with np.load(feats) as archive:
        assert np.array_equal(in_python["outputs"]["features"], archive["features"])
        assert np.array_equal(in_python["labels"], archive["labels"])


def test_features_refuse_image_metrics_and_other_extractors(run_cli, tmp_path):
    feats = tmp_path / "f.npz"
    assert run_cli("features", "dataset:mnist5k:test", "-o", feats, "--extractor", "mnist-cnn", "--limit", "40", "-q").exit_code == 0
    images_metric = run_cli("score", f"features:{feats}", "-m", "laplacian", "-q")
    assert images_metric.exit_code == 2 and "holds extractor outputs, not images" in images_metric.output
    other = run_cli("score", f"features:{feats}", *REF, "-m", "fid@fashion-cnn", "-q")
    assert other.exit_code != 0 and "mnist-cnn" in other.output
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    junk = run_cli("score", f"features:{tmp_path / 'junk.npz'}", *REF, "-m", "fid", "-q")
    assert junk.exit_code == 3 and "junk.npz" in junk.output


def test_a_folders_features_carry_each_files_name_and_class(run_cli, tmp_path, mnist_test_digits):
    from PIL import Image

    images, labels = mnist_test_digits
    for digit in (1, 2):
        (tmp_path / "imgs" / str(digit)).mkdir(parents=True)
        for i, image in enumerate(images[labels == digit][:3]):
            Image.fromarray(image).save(tmp_path / "imgs" / str(digit) / f"{i}.png")
    exported = gan_eval.features(str(tmp_path / "imgs"), tmp_path / "f.npz", extractor="mnist-cnn")
    assert exported["names"] == ["1/0.png", "1/1.png", "1/2.png", "2/0.png", "2/1.png", "2/2.png"]
    with np.load(tmp_path / "f.npz", allow_pickle=False) as archive:
        assert archive["names"].tolist() == exported["names"] and archive["labels"].tolist() == [0, 0, 0, 1, 1, 1]
