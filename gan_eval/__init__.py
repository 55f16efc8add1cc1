"""gan-eval: one engine for trustworthy, comparable scores of generative image models.

The library face (docs/python-api.md): :func:`evaluate` scores in one call, :class:`Evaluator`
streams batches from a training loop, :func:`reference_statistics` writes a stats file. Plugin authors
subclass :class:`Metric`, :class:`FeatureExtractor` and :class:`Source` (docs/plugin-api.md).
"""

from .version import __version__
from .errors import GanEvalError, InputError, PluginError, UsageError  # noqa: E402
from .extractor import FeatureExtractor, SourceInfo  # noqa: E402
from .hookspecs import hookimpl  # noqa: E402
from .metric import Metric  # noqa: E402
from .params import Param  # noqa: E402
from .source import Batch, Skip, Source, SourceOptions  # noqa: E402
from .state import State  # noqa: E402
from .api import Evaluator, Result, evaluate, features, reference_statistics, verify_record  # noqa: E402

__all__ = [
    "Batch",
    "Evaluator",
    "FeatureExtractor",
    "GanEvalError",
    "InputError",
    "Metric",
    "Param",
    "PluginError",
    "Result",
    "Skip",
    "Source",
    "SourceInfo",
    "SourceOptions",
    "State",
    "UsageError",
    "__version__",
    "evaluate",
    "features",
    "hookimpl",
    "reference_statistics",
    "verify_record",
]
