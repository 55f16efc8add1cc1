"""Fixtures shared by the trainer tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture
def noise_data(tmp_path) -> str:
    """48 random 28×28 gray images as an npz source (fast to load; the loop's mechanics do not care)."""
    path = tmp_path / "noise.npz"
    np.savez(path, images=np.random.default_rng(0).integers(0, 256, (48, 28, 28), dtype=np.uint8))
    return f"npz:{path}"


@pytest.fixture
def deterministic():
    """Deterministic torch kernels for the test (bit-identical resume is asserted)."""
    torch.use_deterministic_algorithms(True)
    yield
    torch.use_deterministic_algorithms(False)
