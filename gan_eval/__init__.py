"""gan-eval: one engine for trustworthy, comparable scores of generative image models."""

from .errors import GanEvalError, InputError, PluginError, UsageError
from .extractor import FeatureExtractor, SourceInfo
from .hookspecs import hookimpl
from .metric import Metric
from .params import Param
from .source import Batch, Skip, Source, SourceOptions
from .state import State

__version__ = "0.1.0"

__all__ = [
    "Batch", "FeatureExtractor", "GanEvalError", "InputError", "Metric", "Param", "PluginError",
    "Skip", "Source", "SourceInfo", "SourceOptions", "State", "UsageError", "hookimpl", "__version__",
]
