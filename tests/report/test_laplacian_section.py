"""The laplacian plugin's report data (a log10 histogram in the record) and its section."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gan_eval.report import Figure, Table
from gan_eval.report.runs import load_runs
from gan_eval_plugins.laplacian import HISTOGRAM_EDGES, log_histogram
from gan_eval_plugins.laplacian_report import SharpnessSection, rebin


def test_histogram_bins_values_by_log10_and_clamps_the_ends():
    counts = log_histogram(torch.tensor([0.0, 1e-9, 1.0, 1000.0, 1000.0, 1e12], dtype=torch.float64))
    edges = np.array(HISTOGRAM_EDGES)
    assert sum(counts) == 6
    assert counts[0] == 2  # 0 and 1e-9: below 10^-1, in the first bin
    assert counts[int(np.searchsorted(edges, 0.0, side="right")) - 1] == 1  # VoL 1 → log 0
    assert counts[int(np.searchsorted(edges, 3.0, side="right")) - 1] == 2
    assert counts[-1] == 1  # 1e12 clamped into the last bin


@settings(suppress_health_check=[HealthCheck.too_slow])  # two 300-long lists per example: slow to draw on a loaded shared machine
@given(st.lists(st.integers(0, 50), min_size=300, max_size=300), st.lists(st.integers(0, 50), min_size=300, max_size=300))
def test_rebin_keeps_every_count_and_the_shared_edges(a, b):
    edges = np.array(HISTOGRAM_EDGES)
    curves = [("a", edges, np.array(a, float), "c", "-"), ("b", edges, np.array(b, float), "c", "--")]
    merged, (lo, hi) = rebin(curves)
    for (_, e, counts, _, _), original in zip(merged, (a, b)):
        assert len(e) == len(counts) + 1
        assert counts.sum() == sum(original)  # no count lost (the 300 fine bins split evenly)
        assert np.isin(e, edges).all()
    assert edges[0] <= lo < hi <= edges[-1]


def test_section_reads_details_from_real_records(sweep_records):
    runs = load_runs(sweep_records)
    details = runs[0].details("laplacian")
    assert sum(details["generated"]) == 24 and sum(details["reference"]) == 24
    section = SharpnessSection()
    assert section.applies(runs)
    blocks = section.blocks(runs)
    figure, table = blocks[0], blocks[1]
    assert isinstance(figure, Figure) and figure.png.startswith(b"\x89PNG")
    assert isinstance(table, Table) and [row[0] for row in table.rows] == [r.label for r in runs]
    assert table.rows[0][1] == runs[0].record["results"][0]["values"]["mean"]


def test_section_stays_out_of_reports_without_laplacian(sweep_records):
    runs = load_runs(sweep_records[:1])
    runs[0].record["results"] = [r for r in runs[0].record["results"] if r["metric"] != "laplacian"]
    assert not SharpnessSection().applies(runs)
