"""Test plugin: a report section full of markup, and one that crashes."""

import gan_eval
from gan_eval.report import Figure, ReportSection, Table, Text

EVIL = "<script>alert(1)</script>"


class Hostile(ReportSection):
    name = "hostile<b>"
    title = f"Title {EVIL}"
    order = 300

    def blocks(self, runs):
        png = b"\x89PNG\r\n\x1a\n"  # a figure's bytes are embedded as data:, never as markup
        return [Text(f"text {EVIL}"), Table([f"head {EVIL}"], [[f"cell {EVIL}"]]), Figure(png, caption=f"caption {EVIL}", alt='alt" onerror="alert(2)')]


class Broken(ReportSection):
    name, title = "broken", "Broken section"

    def blocks(self, runs):
        raise RuntimeError(f"boom {EVIL}")


@gan_eval.hookimpl
def register_report_sections():
    return [Hostile, Broken]
