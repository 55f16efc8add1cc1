"""The report-section plugin interface and the content blocks a section returns.

A section never writes HTML: it returns :class:`Text`, :class:`Table` and :class:`Figure` blocks,
which the report's template renders with autoescaping. So whatever a plugin (or a file name inside a
record) says, it reaches the page as text, never as markup or script.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Sequence, Union

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure as MplFigure

    from .runs import ReportRun


@dataclass
class Text:
    """A paragraph of plain text (shown as text even if it looks like HTML)."""

    text: str
    kind: str = "text"


@dataclass
class Table:
    """A table of plain cells; ``None`` shows as a dash, floats with 4 significant digits."""

    header: list[str]
    rows: list[list[Any]]
    kind: str = "table"


@dataclass
class Figure:
    """An image with a caption and alternative text: PNG bytes, or SVG bytes when ``svg`` is set
    (vector plots stay sharp and their marks can be checked). Either is embedded as a data: URL."""

    png: bytes
    caption: str = ""
    alt: str = ""
    kind: str = "figure"
    svg: bytes | None = None

    @property
    def data_url(self) -> str:
        if self.svg is not None:
            return "data:image/svg+xml;base64," + base64.b64encode(self.svg).decode("ascii")
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")

    @classmethod
    def from_matplotlib(cls, figure: "MplFigure", caption: str = "", alt: str = "", dpi: int = 110, vector: bool = False) -> "Figure":
        """Render a ``matplotlib.figure.Figure`` (built without pyplot) to an embedded PNG, or with
        ``vector=True`` to SVG (text kept as text, no date or random ids: the same plot gives the
        same bytes)."""
        buffer = io.BytesIO()
        if vector:
            import matplotlib

            with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "gan-eval-report"}):
                figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
            return cls(b"", caption, alt or caption, svg=_display_size(buffer.getvalue(), dpi))
        figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
        return cls(buffer.getvalue(), caption, alt or caption)


def _display_size(svg: bytes, dpi: int) -> bytes:
    """Show an SVG at the size its PNG would have at ``dpi`` (matplotlib writes points, 72 per inch;
    its viewBox keeps the drawing's own coordinates unchanged)."""
    head, _, rest = svg.partition(b"<svg ")
    tag, close, body = rest.partition(b">")

    def scaled(match: "re.Match[bytes]") -> bytes:
        return match.group(1) + b'="' + f"{float(match.group(2)) * dpi / 72:.1f}px".encode() + b'"'

    tag = re.sub(rb'\b(width|height)="([0-9.]+)pt"', scaled, tag, count=2)
    return head + b"<svg " + tag + close + body


Block = Union[Text, Table, Figure]


class ReportSection:
    """Base class for report sections contributed by plugins (hook ``register_report_sections``).

    Subclass it, set ``name`` (unique) and ``title``, and implement :meth:`blocks`. The report calls
    :meth:`applies` first, so a section about one metric can stay out of reports without it.
    """

    #: Unique name (the registry key; shown in ``gan-eval plugins``).
    name: ClassVar[str]
    #: Heading of the section in the report.
    title: ClassVar[str] = ""
    #: One line shown by ``gan-eval plugins``.
    summary: ClassVar[str] = ""
    #: Sections are shown in ascending order (built-in plots use 100).
    order: ClassVar[int] = 500

    def applies(self, runs: Sequence["ReportRun"]) -> bool:
        """Whether this section has anything to show for these runs."""
        return True

    def blocks(self, runs: Sequence["ReportRun"]) -> list[Block]:
        """The section's content. Runs come in report order; each has ``label`` and ``record``."""
        raise NotImplementedError


@dataclass
class RenderedSection:
    """A section as the template sees it: its blocks, or the error it raised."""

    name: str
    title: str
    plugin: str
    blocks: list[Block] = field(default_factory=list)
    error: str | None = None
