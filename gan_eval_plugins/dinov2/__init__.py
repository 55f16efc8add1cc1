"""Built-in plugin ``dinov2``: the ``dinov2-vits14`` … ``dinov2-vitg14`` feature extractors.

The CLS token of Meta's official DINOv2 checkpoints, run by timm, with dgm-eval's or torch-fidelity's
preprocessing. The weights come from a file the user gives or the usual cache folders, never from
the network (``gan-eval weights fetch dinov2-vitl14`` is the opt-in download). See docs/extractors/dinov2.md.
"""

from __future__ import annotations

import gan_eval

from .extractor import EXTRACTORS, DinoV2Extractor
from .standin import write_standin_weights

__all__ = ["DinoV2Extractor", "EXTRACTORS", "write_standin_weights"]


@gan_eval.hookimpl
def register_extractors():
    return list(EXTRACTORS)
