"""The memorization plugin's report section: the closest (generated, reference) pairs as images, the
distributions of nearest-neighbour distances, and AuthPct per run.

Everything comes from the record (the metric's ``details``: a PNG strip of thumbnails and histograms
on shared bins), so the section needs no image data.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np

from gan_eval.report import Figure, ReportRun, ReportSection, Table, Text

METRIC = "memorization"


def strip_thumbnails(strip: str, count: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(generated, reference) uint8 count×size×size×3 thumbnails from the metric's PNG data URI."""
    from PIL import Image

    _, _, encoded = strip.partition(",")
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(encoded))).convert("RGB"))
    if pixels.shape[:2] != (2 * size, count * size):
        raise ValueError(f"pair strip is {pixels.shape[1]}×{pixels.shape[0]} pixels, expected {count * size}×{2 * size}")
    rows = pixels.reshape(2, size, count, size, 3).transpose(0, 2, 1, 3, 4)
    return rows[0], rows[1]


class MemorizationSection(ReportSection):
    name = "memorization-pairs"
    title = "Memorisation: closest generated/reference pairs"
    summary = "the generated images nearest to a reference image, shown with it, and nearest-neighbour distances"
    order = 210

    def applies(self, runs: Sequence[ReportRun]) -> bool:
        return any(self._details(run) for run in runs)

    def blocks(self, runs: Sequence[ReportRun]) -> list:
        shown = [(run, self._details(run)) for run in runs if self._details(run)]
        blocks: list = [self._table(shown)]
        for run, details in shown:
            pairs = details["pairs"]
            if pairs.get("strip"):
                blocks.append(self._pairs_figure(run.label, pairs))
            elif pairs.get("items"):
                blocks.append(Text(f"{run.label}: no thumbnails stored (memorization.thumbnail=0); the closest pairs are listed by index in the record."))
        blocks.append(self._histogram_figure(shown))
        blocks.append(
            Text(
                "A generated image counts as a likely copy (not authentic) when it is at least as close to its "
                "nearest reference image as that image's own nearest reference neighbour. Distances are "
                "Euclidean in the extractor's feature space, so compare them only within one extractor."
            )
        )
        return blocks

    @staticmethod
    def _table(shown) -> Table:
        rows = []
        for run, _ in shown:
            values = run.result(METRIC)["values"]
            rows.append(
                [
                    run.label,
                    values.get("authpct"),
                    values.get("memorized_fraction"),
                    values.get("nn_distance_min"),
                    values.get("nn_distance_p50"),
                    values.get("reference_nn_distance_p50"),
                ]
            )
        return Table(
            [
                "run",
                "AuthPct (%)",
                "likely copies (fraction)",
                "closest distance",
                "median distance to nearest reference",
                "median reference-to-reference distance",
            ],
            rows,
        )

    @staticmethod
    def _pairs_figure(label: str, pairs: dict) -> Figure:
        from matplotlib.figure import Figure as MplFigure

        from gan_eval.report.plots import report_style

        count, items = pairs["shown"], pairs["items"]
        generated, reference = strip_thumbnails(pairs["strip"], count, pairs["thumbnail"])
        with report_style():
            figure = MplFigure(figsize=(1.0 * count + 0.6, 2.4), layout="constrained")
            axes = figure.subplots(2, count, squeeze=False)
            for column in range(count):
                for row, images in enumerate((generated, reference)):
                    ax = axes[row][column]
                    ax.imshow(images[column], interpolation="nearest")
                    ax.set_xticks([])
                    ax.set_yticks([])
                    ax.grid(False)
                item = items[column]
                axes[0][column].set_title(f"{item['distance']:.3g}" + ("" if item["authentic"] else " ✕"), fontsize=8)
                axes[1][column].set_xlabel(f"ref #{item['reference']}", fontsize=7)
            axes[0][0].set_ylabel("generated", fontsize=8)
            axes[1][0].set_ylabel("reference", fontsize=8)
        return Figure.from_matplotlib(
            figure,
            f"{label}: the {count} generated images closest to a reference image (top) and that reference "
            "image (bottom); titles give the feature distance, ✕ marks a likely copy.",
        )

    @staticmethod
    def _histogram_figure(shown) -> Figure:
        from gan_eval.report.plots import PALETTE, new_figure, report_style

        with report_style():
            figure, (ax,) = new_figure(1, width=7.2, height=3.0)
            for index, (run, details) in enumerate(shown):
                histogram = details["histogram"]
                edges = np.asarray(histogram["edges"], float)
                for key, style, name in (("generated", "-", run.label), ("reference", "--", f"{run.label}: reference to reference")):
                    counts = np.asarray(histogram[key], float)
                    ax.stairs(counts / max(counts.sum(), 1.0), edges, color=PALETTE[index % len(PALETTE)], linestyle=style, linewidth=1.5, label=name[:48])
            ax.set_xlabel("distance to the nearest reference image (features)")
            ax.set_ylabel("fraction of images")
            ax.legend(loc="upper right")
        return Figure.from_matplotlib(
            figure,
            "Distance from each generated image to its nearest reference image (solid) and "
            "from each reference image to its nearest other reference image (dashed).",
        )

    @staticmethod
    def _details(run: ReportRun) -> dict | None:
        details = run.details(METRIC)
        return details if isinstance(details, dict) and details.get("histogram") and details.get("pairs") else None
