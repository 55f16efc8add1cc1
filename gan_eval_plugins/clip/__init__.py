"""Built-in plugin ``clip``: the ``clip-vitb32`` and ``clip-vitl14-336`` feature extractors.

L2-normalised image embeddings of OpenAI's CLIP, run by open_clip, with the CMMD authors' or
OpenAI's preprocessing. The weights come from a file the user gives or the usual cache folders
(``~/.cache/clip``), never from the network (``gan-eval weights fetch clip-vitl14-336`` is the
opt-in download); their SHA-256 is checked against OpenAI's. See docs/extractors/clip.md.
"""

from __future__ import annotations

import gan_eval

from .extractor import EXTRACTORS, ClipExtractor
from .standin import write_standin_weights

__all__ = ["ClipExtractor", "EXTRACTORS", "write_standin_weights"]


@gan_eval.hookimpl
def register_extractors():
    return list(EXTRACTORS)
