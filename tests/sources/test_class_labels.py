"""Sources that know classes pass labels on: class-subfolder folders and conditional generators."""

from __future__ import annotations

import json
import sys
import textwrap

import numpy as np
from PIL import Image

from gan_eval.source import SourceOptions
from gan_eval_plugins.sources.folder import FolderSource
from gan_eval_plugins.sources.generators import CallableSource


def test_a_class_subfolder_folder_labels_images_by_their_folder(tmp_path, mnist_test_digits, run_cli):
    images, labels = mnist_test_digits
    for digit in (3, 7):
        folder = tmp_path / "real" / f"digit-{digit}"
        folder.mkdir(parents=True)
        for i, image in enumerate(images[labels == digit][:30]):
            Image.fromarray(image).save(folder / f"{i:02d}.png")
    source = FolderSource(str(tmp_path / "real"), SourceOptions())
    assert source.info()["classes"] == ["digit-3", "digit-7"]
    assert source.read(25, 35).labels.tolist() == [0] * 5 + [1] * 5
    result = run_cli("score", tmp_path / "real", "--ref", tmp_path / "real", "-m", "fid", "-O", "fid.per_class=true", "--json", "-q")
    assert result.exit_code == 0, result.output
    (fid,) = json.loads(result.stdout)["results"]
    assert set(fid["details"]["per_class"]) == {"0", "1"} and fid["values"]["fid_class_mean"] < 1e-6  # a set against itself


def test_a_conditional_generator_gets_seeded_labels_and_passes_them_on(tmp_path, monkeypatch):
    module = tmp_path / "cond_gen.py"
    module.write_text(
        textwrap.dedent("""
        import torch

        def generate(z, labels):
            images = torch.zeros(len(z), 1, 8, 8)
            images[:, 0, 0, 0] = labels.float() / 4 - 1  # the class is visible in the image
            return images
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    options = SourceOptions(count=100, seed=3, extra={"latent": "4", "classes": "5"})
    source = CallableSource("cond_gen:generate", options)
    batch = source.read(60, 70)
    assert batch.labels is not None and set(batch.labels.tolist()) <= set(range(5))
    expected = np.rint((batch.labels / 4 - 1 + 1) / 2 * 255)
    assert np.array_equal(batch.images[:, 0, 0, 0], expected)
    again = CallableSource("cond_gen:generate", options).read(60, 70)
    assert np.array_equal(again.labels, batch.labels)  # seeded: the same labels every time
    sys.modules.pop("cond_gen", None)
