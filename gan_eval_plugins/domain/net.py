"""The small CNN behind the bundled domain extractors (``mnist-cnn``, ``fashion-cnn``).

Three conv blocks and a global average pool give a 128-d embedding (the penultimate layer: FID, KID
and precision/recall compare it); one linear layer gives the 10 class logits (IS uses them).
About 94k parameters, 0.4 MB of float32 weights, 6 MMAC per 28×28 image.
"""

from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F

#: The nets' native input: one gray channel, 28×28 pixels.
INPUT_SIZE = (28, 28)
FEATURE_DIM = 128
NUM_CLASSES = 10


def conv_block(cin: int, cout: int, kernel: int, padding: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, kernel, padding=padding, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class DomainNet(nn.Module):
    """28×28 gray in, ``(features N×128, logits N×10)`` out. Input: pixels scaled by :func:`normalise`."""

    def __init__(self, classes: int = NUM_CLASSES, dropout: float = 0.2):
        super().__init__()
        self.body = nn.Sequential(
            *conv_block(1, 32, 5, 2),
            nn.MaxPool2d(2),  # 28 -> 14
            *conv_block(32, 64, 3, 1),
            nn.MaxPool2d(2),  # 14 -> 7
            *conv_block(64, FEATURE_DIM, 3, 0),  # 7 -> 5
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(FEATURE_DIM, classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return features, self.head(self.dropout(features))


def normalise(gray01: torch.Tensor) -> torch.Tensor:
    """Gray in [0, 1] to the nets' input range [-1, 1] (the same for training and extraction)."""
    return gray01 * 2.0 - 1.0


def to_gray01(images: torch.Tensor) -> torch.Tensor:
    """uint8 N×3×H×W RGB (or N×1×H×W gray) to float N×1×H×W in [0, 1].

    Colour is reduced with the ITU-R 601 luma weights (0.299, 0.587, 0.114), as OpenCV and PIL do;
    gray images stored as three equal channels come back as their channel exactly.
    """
    x = images.float() / 255.0
    if x.shape[1] == 1:
        return x
    if x.shape[1] != 3:
        raise ValueError(f"expected 1 or 3 channels, got {x.shape[1]}")
    if torch.equal(images[:, 0], images[:, 1]) and torch.equal(images[:, 1], images[:, 2]):
        return x[:, :1]
    return (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]).clamp_(0.0, 1.0)


def to_input_size(gray01: torch.Tensor) -> torch.Tensor:
    """Resize to 28×28 when needed: bilinear with antialiasing (area-like when shrinking)."""
    if tuple(gray01.shape[-2:]) == INPUT_SIZE:
        return gray01
    return F.interpolate(gray01, size=INPUT_SIZE, mode="bilinear", align_corners=False, antialias=True).clamp_(0.0, 1.0)
