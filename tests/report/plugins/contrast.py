"""Test plugin: a metric with a direction (so "best" marks show) and a well-behaved section."""

import gan_eval
from gan_eval.report import ReportSection, Table


class Contrast(gan_eval.Metric):
    name, primary, reference, higher_is_better = "contrast", "std", "unused", True

    def state_spec(self):
        return {"n": "sum", "s": "sum", "s2": "sum"}

    def update(self, state, inputs):
        x = inputs["images"].double()
        state.add("n", x.numel())
        state.add("s", x.sum())
        state.add("s2", (x * x).sum())

    def compute(self, generated, reference):
        n, s, s2 = (float(generated.get(k)) for k in ("n", "s", "s2"))
        return {"std": (s2 / n - (s / n) ** 2) ** 0.5}


class ContrastTable(ReportSection):
    name, title = "contrast-table", "Contrast per run"

    def applies(self, runs):
        return any(run.result("contrast") for run in runs)

    def blocks(self, runs):
        return [Table(["run", "contrast"], [[run.label, run.primary("contrast")] for run in runs])]


@gan_eval.hookimpl
def register_metrics():
    return [Contrast]


@gan_eval.hookimpl
def register_report_sections():
    return [ContrastTable]
