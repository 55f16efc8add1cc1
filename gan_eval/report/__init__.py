"""The HTML report: one self-contained file comparing run records side by side.

Plugins add sections through the ``register_report_sections`` hook by returning subclasses of
:class:`ReportSection`; see docs/report.md.
"""

from .runs import ReportRun, load_runs
from .section import Block, Figure, ReportSection, Table, Text

__all__ = ["Block", "Figure", "ReportRun", "ReportSection", "Table", "Text", "load_runs", "render_report", "write_report"]


def render_report(*args, **kwargs):
    """See :func:`gan_eval.report.render.render_report` (imported lazily: Jinja2 is only needed here)."""
    from .render import render_report as render

    return render(*args, **kwargs)


def write_report(*args, **kwargs):
    """See :func:`gan_eval.report.render.write_report`."""
    from .render import write_report as write

    return write(*args, **kwargs)
