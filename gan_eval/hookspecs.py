"""The hooks a gan-eval plugin can implement: one per kind of thing it can add.

Every hook takes no arguments and returns a list of classes (or, for commands, click commands).
Implement them in a module with ``@gan_eval.hookimpl`` and register the module under the entry-point
group ``gan_eval`` (see docs/writing-a-metric-plugin.md), or load it with ``--plugin FILE.py``.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("gan_eval")
hookimpl = pluggy.HookimplMarker("gan_eval")


@hookspec
def register_metrics() -> list[type]:
    """Metric classes (subclasses of :class:`gan_eval.Metric`)."""
    return []  # a specification: pluggy never calls it


@hookspec
def register_sources() -> list[type]:
    """Model-source classes (subclasses of :class:`gan_eval.Source`)."""
    return []  # a specification: pluggy never calls it


@hookspec
def register_extractors() -> list[type]:
    """Feature-extractor classes (subclasses of :class:`gan_eval.FeatureExtractor`)."""
    return []  # a specification: pluggy never calls it


@hookspec
def register_report_sections() -> list[type]:
    """HTML report section classes (subclasses of :class:`gan_eval.report.ReportSection`).

    Each class has a unique ``name``, a ``title``, an ``order`` and ``blocks(runs)``, which returns
    Text/Table/Figure blocks (never HTML: the report escapes everything). Called when the registry
    loads, so import heavy libraries (matplotlib) inside ``blocks``. See docs/report.md.
    """
    return []  # a specification: pluggy never calls it


@hookspec
def register_commands() -> list:
    """Extra ``click`` commands added to the ``gan-eval`` command line (the trainers use this)."""
    return []  # a specification: pluggy never calls it
