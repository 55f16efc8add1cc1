"""The laplacian plugin's report section: distributions of the variance of the Laplacian per run.

It reads the histograms the metric stores in the record (``details``: counts of log10(VoL) on fixed
bins shared by every run), so it needs no image data and overlays runs from different records exactly.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from gan_eval.report import Figure, ReportRun, ReportSection, Table, Text


class SharpnessSection(ReportSection):
    name = "laplacian-distribution"
    title = "Sharpness: variance of the Laplacian"
    summary = "distribution of the variance of the Laplacian per run, against the reference"
    order = 200

    def applies(self, runs: Sequence[ReportRun]) -> bool:
        return any(self._details(run) for run in runs)

    def blocks(self, runs: Sequence[ReportRun]) -> list:
        from gan_eval.report.plots import PALETTE, new_figure, report_style

        shown = [(run, self._details(run)) for run in runs if self._details(run)]
        curves = []  # (label, edges, counts, colour, line style); references once per fingerprint
        references = set()
        for index, (run, details) in enumerate(shown):
            edges = np.asarray(details["log10_edges"], dtype=float)
            curves.append((run.label, edges, np.asarray(details["generated"], float), PALETTE[index % len(PALETTE)], "-"))
            key = (run.reference or {}).get("fingerprint")
            if details.get("reference") and key not in references:
                references.add(key)
                label = f"reference ({_short(str((run.reference or {}).get('spec', '')))})"
                curves.append((label, edges, np.asarray(details["reference"], float), "#222222", "--"))
        curves, (lo, hi) = rebin(curves)
        with report_style():
            figure, (ax,) = new_figure(1, width=7.2, height=3.0)
            for label, edges, counts, colour, style in curves:
                ax.stairs(counts / max(counts.sum(), 1.0), edges, label=_short(label, 40), color=colour, linestyle=style, linewidth=1.5)
            ax.set_xlim(lo, hi)
            ax.set_xlabel("variance of the Laplacian (log scale)")
            ax.set_ylabel("fraction of images")
            ticks = [t for t in np.arange(np.floor(lo * 4) / 4, hi + 1e-9, 0.25 if hi - lo < 2.5 else 1.0) if lo <= t <= hi]
            ax.set_xticks(ticks, [f"{10**t:,.0f}" if t >= 0 else f"{10**t:.2g}" for t in ticks])
            ax.legend(loc="upper left", ncols=2 if len(shown) > 4 else 1)
            plot = Figure.from_matplotlib(
                figure, "Distribution of the per-image variance of the Laplacian (OpenCV recipe); dashed: the reference. Blurry images sit to the left."
            )
        rows = []
        for run, _ in shown:
            values = run.result("laplacian")["values"]
            rows.append([run.label, values.get("mean"), values.get("median"), values.get("std"), values.get("ratio")])
        return [
            plot,
            Table(["run", "mean", "median", "std", "ratio to reference (1 = as sharp)"], rows),
            Text("Sharper is not always better: a ratio near 1 means the generated images are as sharp as the reference."),
        ]

    @staticmethod
    def _details(run: ReportRun) -> dict | None:
        details = run.details("laplacian")
        return details if isinstance(details, dict) and details.get("generated") and details.get("log10_edges") else None


def rebin(curves: list) -> tuple[list, tuple[float, float]]:
    """Merge adjacent fine bins so that each curve has about 2·√N bins over the populated range,
    and return that range (with a margin) for the x axis. Curves must share their bin edges."""
    edges = curves[0][1]
    if any(len(c[1]) != len(edges) or not np.allclose(c[1], edges) for c in curves):
        return curves, (float(edges[0]), float(edges[-1]))  # different binnings: draw them as stored
    occupied = np.flatnonzero(np.sum([c[2] for c in curves], axis=0))
    first, last = (occupied[0], occupied[-1] + 1) if len(occupied) else (0, len(edges) - 1)
    smallest = min(c[2].sum() for c in curves) or 1.0
    target = int(np.clip(2 * np.sqrt(smallest), 10, 80))
    factor = max(1, int(np.ceil((last - first) / target)))
    merged = []
    for label, e, counts, colour, style in curves:
        usable = (len(counts) // factor) * factor
        merged.append((label, e[: usable + 1 : factor], counts[:usable].reshape(-1, factor).sum(1), colour, style))
    margin = 3 * factor
    lo = edges[max(0, first - margin)]
    hi = edges[min(len(edges) - 1, last + margin)]
    return merged, (float(lo), float(hi))


def _short(text: str, width: int = 32) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
