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
                assert attrs[name].startswith("data:image/png;base64,"), (tag, name, attrs[name][:80])
    return page
