"""Built-in plugin ``inception``: the standard FID/IS Inception-v3 feature extractor.

See docs/extractors/inception.md for where the weights go, the preprocessing profiles and the
equivalence with torch-fidelity and pytorch-fid.
"""

from __future__ import annotations

import gan_eval

from .extractor import InceptionExtractor
from .standin import standin_weights_file, write_standin_weights
from .weights import STANDARD_SHA256

__all__ = ["InceptionExtractor", "STANDARD_SHA256", "standin_weights_file", "write_standin_weights"]


@gan_eval.hookimpl
def register_extractors():
    return [InceptionExtractor]
