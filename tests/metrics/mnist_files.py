"""Real digits as small .npy files for the metrics' command-line tests."""

from __future__ import annotations

import numpy as np


def mnist_arrays(tmp_path):
    """200 mnist5k test digits (generated) and 200 train digits (reference) as .npy files: small on
    both sides whatever the CLI's --limit applies to."""
    from gan_eval_plugins.sources.datasets import load_dataset

    paths = []
    for split in ("test", "train"):
        path = tmp_path / f"{split}.npy"
        np.save(path, load_dataset("mnist5k", split)[0][::20][:200])
        paths.append(path)
    return paths
