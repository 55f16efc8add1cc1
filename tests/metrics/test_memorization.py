"""Memorisation: AuthPct equals the dgm-eval/fls definition computed by brute force, sets with a known
fraction of copies, thumbnails and the closest pairs in details(), the report section, end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from gan_eval.errors import GanEvalError, UsageError
from gan_eval.report import Figure, Table
from gan_eval.report.runs import ReportRun
from gan_eval.scoring import MAX_DETAILS_CHARS
from gan_eval_plugins.memorization import Memorization, authenticity
from gan_eval_plugins.memorization_report import MemorizationSection, strip_thumbnails
from mnist_files import mnist_arrays


def features(n, d=16, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d))


def brute_force_authentic(generated, reference):
    """dgm-eval's compute_authpct (from fls) in numpy float64: d₂ of the nearest reference < d₁."""
    real = np.linalg.norm(reference[:, None] - reference[None], axis=-1)
    np.fill_diagonal(real, np.inf)
    gen = np.linalg.norm(reference[:, None] - generated[None], axis=-1)  # reference × generated
    return real.min(axis=0)[gen.argmin(axis=0)] < gen.min(axis=0)


def with_copies(fresh, reference, copies, seed=1, noise=0.0):
    """``fresh`` generated rows followed by ``copies`` rows copied (plus noise) from distinct reference rows."""
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(reference), copies, replace=False)
    return np.concatenate([fresh, reference[picks] + noise * rng.standard_normal((copies, reference.shape[1]))]), picks


def images_for(rows_seed, n, size=12):
    return torch.from_numpy(np.random.default_rng(rows_seed).integers(0, 256, (n, 3, size, size), dtype=np.uint8))


def states(metric, generated, reference, gen_images=None, ref_images=None):
    gen, ref = metric.new_state(), metric.new_state()
    gen_images = images_for(0, len(generated)) if gen_images is None else gen_images
    ref_images = images_for(1, len(reference)) if ref_images is None else ref_images
    for part in np.array_split(np.arange(len(generated)), 3):
        metric.update(gen, {"features": torch.from_numpy(generated[part]), "images": gen_images[part]})
    metric.update(ref, {"features": torch.from_numpy(reference), "images": ref_images})
    return gen, ref


def test_authentic_flags_equal_the_brute_force_definition():
    reference, generated = features(150, seed=2), features(90, seed=3) * 1.1
    found = authenticity(torch.from_numpy(generated), torch.from_numpy(reference))
    assert found["authentic"].numpy().tolist() == brute_force_authentic(generated, reference).tolist()
    assert 0 < found["authentic"].sum() < 90  # a mix of both outcomes


@pytest.mark.parametrize("noise", [0.0, 1e-3])  # exact copies, near copies
def test_a_known_fraction_of_copies_shows_in_authpct(noise):
    reference, fresh = features(200, seed=4), features(70, seed=5)
    generated, _ = with_copies(fresh, reference, 30, noise=noise)
    metric = Memorization()
    values = metric.compute(*states(metric, generated, reference))
    fresh_flags = brute_force_authentic(fresh, reference)
    # each row is judged on its own: the 30 copies add exactly 30 likely copies to the fresh rows'
    assert values["memorized_fraction"] == pytest.approx((30 + (~fresh_flags).sum()) / 100, abs=1e-12)
    assert values["authpct"] == pytest.approx(100 * fresh_flags.sum() / 100, abs=1e-9)
    assert values["nn_distance_min"] == pytest.approx(0.0, abs=2 * noise * 16**0.5 + 1e-15)
    if noise == 0.0:
        assert values["nn_distance_min"] == 0.0  # recomputed directly: an exact copy is exactly 0 away
    clean = Memorization().compute(*states(Memorization(), fresh, reference))
    assert clean["memorized_fraction"] == pytest.approx((~fresh_flags).sum() / 70, abs=1e-12)


def test_details_show_the_copies_as_the_closest_pairs_with_their_thumbnails():
    reference, fresh = features(60, seed=6), features(30, seed=7)
    generated, picks = with_copies(fresh, reference, 5)
    ref_images = images_for(8, 60)
    gen_images = torch.cat([images_for(9, 30), ref_images[picks]])  # the copies are copies as images too
    metric = Memorization(pairs=5)
    gen, ref = states(metric, generated, reference, gen_images, ref_images)
    details = metric.details(gen, ref)
    pairs = details["pairs"]
    assert sorted(p["generated"] for p in pairs["items"]) == list(range(30, 35))
    assert {p["reference"] for p in pairs["items"]} == set(picks.tolist())
    assert all(p["distance"] == 0.0 and not p["authentic"] for p in pairs["items"])
    top, bottom = strip_thumbnails(pairs["strip"], pairs["shown"], pairs["thumbnail"])
    assert pairs["shown"] == 5 and top.shape == (5, 32, 32, 3)
    assert np.array_equal(top, bottom)  # each copy's thumbnail is its reference's
    expected = gen.numpy("thumbnails")[[p["generated"] for p in pairs["items"]]].transpose(0, 2, 3, 1)
    assert np.array_equal(top, expected)
    histogram = details["histogram"]
    assert sum(histogram["generated"]) == 35 and sum(histogram["reference"]) == 60
    assert len(histogram["edges"]) == len(histogram["generated"]) + 1


def test_details_stay_within_the_record_limit_for_incompressible_thumbnails():
    reference, generated = features(40, seed=10), features(40, seed=11)
    noise = lambda seed: torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (40, 3, 64, 64), dtype=np.uint8))
    metric = Memorization(pairs=20)
    gen, ref = states(metric, generated, reference, noise(12), noise(13))
    details = metric.details(gen, ref)
    assert len(json.dumps(details)) <= MAX_DETAILS_CHARS
    assert 1 <= details["pairs"]["shown"] < 20 and len(details["pairs"]["items"]) == 20
    assert gen.get("thumbnails").dtype == torch.uint8 and gen.get("thumbnails").shape == (40, 3, 32, 32)  # 3,072 bytes an image


def test_no_thumbnails_when_switched_off():
    metric = Memorization(thumbnail=0)
    gen, ref = states(metric, features(20, seed=14), features(30, seed=15))
    assert gen.get("thumbnails") is None
    assert metric.details(gen, ref)["pairs"]["strip"] is None


def test_bootstrap_copies_in_the_reference_are_not_each_others_neighbours():
    reference, generated = features(80, seed=16), features(50, seed=17)
    picks = np.random.default_rng(18).integers(0, 80, 80)
    metric = Memorization(thumbnail=0)
    gen, ref = states(metric, generated, reference[picks])
    ref.origin = picks
    values = metric.compute(gen, ref)
    unique = np.unique(picks)  # with copies kept apart, the resample judges like its distinct rows
    assert values["authpct"] == pytest.approx(100 * brute_force_authentic(generated, reference[unique]).mean(), abs=1e-9)


def test_bad_inputs_and_parameters_are_clear_errors():
    with pytest.raises(UsageError, match="thumbnail must be between 0 and 128"):
        Memorization(thumbnail=500)
    metric = Memorization()
    gen, ref = states(metric, features(5), features(1))
    with pytest.raises(GanEvalError, match="memorization: needs at least 2 reference images"):
        metric.compute(gen, ref)
    with pytest.raises(GanEvalError, match="the generated or the reference set has no images"):
        metric.compute(metric.new_state(), ref)


def test_report_section_draws_the_pairs_and_the_distances():
    reference, fresh = features(60, seed=19), features(30, seed=20)
    generated, _ = with_copies(fresh, reference, 4)
    metric = Memorization(pairs=4)
    gen, ref = states(metric, generated, reference)
    record = {
        "results": [
            {
                "name": "memorization@test",
                "metric": "memorization",
                "values": metric.compute(gen, ref),
                "details": json.loads(json.dumps(metric.details(gen, ref))),
            }
        ]
    }
    runs = [ReportRun("run-a", record), ReportRun("no-memorization", {"results": []})]
    section = MemorizationSection()
    assert section.applies(runs) and not section.applies(runs[1:])
    blocks = section.blocks(runs)
    table, pairs_figure, histogram = blocks[0], blocks[1], blocks[2]
    assert isinstance(table, Table) and table.rows[0][0] == "run-a" and table.rows[0][2] == pytest.approx(record["results"][0]["values"]["memorized_fraction"])
    assert isinstance(pairs_figure, Figure) and pairs_figure.png.startswith(b"\x89PNG") and "4 generated images" in pairs_figure.caption
    assert isinstance(histogram, Figure) and histogram.png.startswith(b"\x89PNG")


def test_end_to_end_a_set_scored_against_itself_is_all_copies(run_cli, tmp_path):
    out, html = tmp_path / "run.json", tmp_path / "run.html"
    _, reference = mnist_arrays(tmp_path)
    result = run_cli("score", reference, "--ref", reference, "--extractor", "mnist-cnn", "-m", "memorization", "-q", "--no-cache", "--out", out, "--html", html)
    assert result.exit_code == 0, result.output
    entry = next(r for r in json.loads(out.read_text())["results"] if r["metric"] == "memorization")
    assert entry["name"] == "memorization@mnist-cnn"
    assert entry["values"]["authpct"] == 0.0 and entry["values"]["memorized_fraction"] == 1.0
    assert entry["values"]["nn_distance_min"] == 0.0 and entry["details"]["pairs"]["shown"] == 8
    page = html.read_text()
    assert "Memorisation: closest generated/reference pairs" in page
