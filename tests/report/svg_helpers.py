"""Reading the report's SVG plots back into data coordinates, the way a reader reads them: from the
axis tick labels. So a test checks what is drawn, not what the code meant to draw."""

from __future__ import annotations

import math
import re

import numpy as np

from report_helpers import SVG_URL, XLINK, parse_page, svg_root

NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def svg_figures(html: str) -> list:
    """Every embedded SVG figure of a page, parsed."""
    return [svg_root(attrs["src"]) for tag, attrs in parse_page(html).tags if tag == "img" and attrs.get("src", "").startswith(SVG_URL)]


def find(html: str, gid: str):
    """The element with id ``gid`` in whichever figure holds it (and fail when none does)."""
    for root in svg_figures(html):
        for element in root.iter():
            if element.get("id") == gid:
                return element
    raise AssertionError(f"no SVG element with id {gid!r}")


def ids(html: str, prefix: str) -> list[str]:
    return [e.get("id") for root in svg_figures(html) for e in root.iter() if (e.get("id") or "").startswith(prefix)]


def _ticks(panel, axis: str) -> list[tuple[float, float]]:
    """(pixel position, labelled value) of each labelled major tick of the panel's x or y axis."""
    found = []
    for tick in panel.iter():
        if not (tick.get("id") or "").startswith(f"{axis}tick_"):
            continue
        uses = [e for e in tick.iter() if local(e.tag) == "use"]
        texts = ["".join(e.itertext()).strip().replace("\u2212", "-") for e in tick.iter() if local(e.tag) == "text"]
        if uses and texts and texts[0] and NUMBER.fullmatch(texts[0]):
            found.append((float(uses[0].get(axis)), float(texts[0])))
    assert len(found) >= 2, f"panel {panel.get('id')}: fewer than two labelled {axis} ticks"
    return found


def axis_map(panel, axis: str, log: bool = False):
    """pixel → data along one axis of a panel, fitted to its tick labels (exactly linear, or in log10)."""
    ticks = _ticks(panel, axis)
    pixels = np.array([p for p, _ in ticks])
    values = np.array([math.log10(v) if log else v for _, v in ticks])
    slope, offset = np.polyfit(pixels, values, 1)
    residual = np.max(np.abs(slope * pixels + offset - values))
    assert residual < 1e-3 * (np.ptp(values) or 1), f"tick labels of {panel.get('id')} are not on a {'log' if log else 'linear'} scale"
    return (lambda p: 10 ** (slope * p + offset)) if log else (lambda p: slope * p + offset)


def segments(group) -> list[tuple[float, float, float, float]]:
    """(x0, y0, x1, y1) of each two-point path under an SVG group (a line collection's lines)."""
    out = []
    for element in group.iter():
        if local(element.tag) == "path" and element.get("d"):
            numbers = [float(n) for n in NUMBER.findall(element.get("d"))]
            if len(numbers) == 4:
                out.append(tuple(numbers))
    return out


def markers(group) -> list[tuple[float, float]]:
    """(x, y) of each marker (``<use>``) under an SVG group (a scatter's points)."""
    return [(float(e.get("x")), float(e.get("y"))) for e in group.iter() if local(e.tag) == "use" and e.get(XLINK)]


def bars_in_data(panel, gid: str, xlog: bool = False, horizontal: bool = False) -> list[tuple[float, float, float]]:
    """(position, low, high) of each error bar of group ``gid`` in the panel, in data units, by position."""
    fx, fy = axis_map(panel, "x", log=xlog), axis_map(panel, "y") if not horizontal else None
    group = next(e for e in panel.iter() if e.get("id") == gid)
    out = []
    for x0, y0, x1, y1 in segments(group):
        if horizontal:
            out.append((y0, *sorted((fx(x0), fx(x1)))))
        else:
            assert abs(x0 - x1) < 1e-6, "an error bar is vertical"
            out.append((fx(x0), *sorted((fy(y0), fy(y1)))))
    return sorted(out)
