"""Shared by the report tests: hostile text, test plugins, and an HTML check with html.parser."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

HOSTILE = "<script>alert(1)</script>"
PLUGINS = Path(__file__).parent / "plugins"
#: score options that add the test metric with a direction (higher contrast is "better")
CONTRAST = ["-m", "contrast", "--plugin", str(PLUGINS / "contrast.py")]

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class PageParser(HTMLParser):
    """Collects tags, attributes and text; records nesting errors instead of guessing like a browser."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse_page(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser


def assert_inert_and_well_formed(html: str) -> PageParser:
    """No script, no event handler, no external resource; every element closed in order."""
    page = parse_page(html)
    assert page.errors == [] and page.stack == [], (page.errors, page.stack)
    names = [tag for tag, _ in page.tags]
    for banned in ("script", "iframe", "object", "embed", "link", "base", "form"):
        assert banned not in names, banned
    for tag, attrs in page.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        for name in ("src", "href", "action", "srcset"):
            if name in attrs:
                assert attrs[name].startswith(("data:image/png;base64,", SVG_URL)), (tag, name, attrs[name][:80])
                if attrs[name].startswith(SVG_URL):
                    assert_inert_svg(attrs[name])
    return page


SVG_URL = "data:image/svg+xml;base64,"
XLINK = "{http://www.w3.org/1999/xlink}href"


def svg_root(url: str):
    """An embedded SVG (its data: URL) parsed as XML: a malformed one fails here."""
    import base64
    import xml.etree.ElementTree as ET

    return ET.fromstring(base64.b64decode(url[len(SVG_URL) :]))


def assert_inert_svg(url: str) -> None:
    """No script, no foreign object, no event handler, no link that leaves the SVG (only #ids)."""
    for element in svg_root(url).iter():
        tag = element.tag.rsplit("}", 1)[-1]
        assert tag not in ("script", "foreignObject", "iframe", "a"), tag
        for name, value in element.attrib.items():
            assert not name.rsplit("}", 1)[-1].startswith("on"), (tag, name)
            if name in ("href", XLINK):
                assert value.startswith("#"), (tag, value)


class TableParser(HTMLParser):
    """Every <table> of a page as rows of cell texts (header row included)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None and self.tables and self.tables[-1]:
            self.tables[-1][-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def table_starting(html: str, *header: str) -> list[list[str]]:
    """The body rows of the table whose header begins with ``header``."""
    parser = TableParser()
    parser.feed(html)
    for table in parser.tables:
        if table and table[0][: len(header)] == list(header):
            return table[1:]
    raise AssertionError(f"no table with header {header}")
