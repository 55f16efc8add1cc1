"""Example report-section plugin: how long each run took, as a table and a bar chart.

Try it:  gan-eval report run1.json run2.json -o report.html --plugin docs/examples/report_section_plugin.py
(or register the module under the entry-point group ``gan_eval`` in a package's pyproject.toml).
"""

import datetime as dt

import gan_eval
from gan_eval.report import Figure, ReportSection, Table, Text


class RunTiming(ReportSection):
    name = "run-timing"
    title = "Run time"
    summary = "wall-clock time of each scoring run"
    order = 900  # after the built-in sections

    def applies(self, runs):
        return any(self.seconds(run) is not None for run in runs)

    def blocks(self, runs):
        from gan_eval.report.plots import new_figure, report_style

        timed = [(run.label, self.seconds(run)) for run in runs if self.seconds(run) is not None]
        with report_style():
            figure, (ax,) = new_figure(1, width=6, height=0.6 + 0.3 * len(timed))
            ax.barh([label for label, _ in timed], [s for _, s in timed], color="#4c72b0")
            ax.invert_yaxis()
            ax.set_xlabel("seconds")
        return [
            Table(["run", "device", "seconds"], [[run.label, run.record.get("device"), self.seconds(run)] for run in runs]),
            Figure.from_matplotlib(figure, "Wall-clock time from start to finish of each run."),
            Text("Times depend on the machine and its load; compare runs made on the same machine."),
        ]

    @staticmethod
    def seconds(run):
        try:
            start, end = (dt.datetime.fromisoformat(run.record[k]) for k in ("started", "finished"))
        except (KeyError, TypeError, ValueError):
            return None
        return (end - start).total_seconds()


@gan_eval.hookimpl
def register_report_sections():
    return [RunTiming]
