"""Memorisation: each generated image's nearest reference image, AuthPct and the closest pairs.

For a generated feature gⱼ let rᵢ be its nearest reference feature (Euclidean distance d₁ⱼ = ‖gⱼ − rᵢ‖)
and d₂ᵢ the distance from rᵢ to its own nearest other reference feature. gⱼ is *authentic* when
d₂ᵢ < d₁ⱼ (Alaa et al., ICML 2022, as dgm-eval / fls ``compute_authpct`` compute it); otherwise it sits
closer to a reference image than that image's nearest neighbour does: a likely copy.

Reported: ``authpct`` = 100 × the authentic fraction (dgm-eval's AuthPct, primary),
``memorized_fraction`` = 1 − that fraction, quantiles of d₁ and the median of d₂ (the scale to read
them against). ``details()`` holds a histogram of d₁ and d₂ on shared bins and the ``pairs`` closest
(generated, reference) pairs with their thumbnails as one PNG strip (a data: URI) for the report.

Distances are Euclidean, as Alaa et al. and dgm-eval use: AuthPct values stay comparable, and for
L2-normalised embeddings (CLIP) the nearest neighbour is the same as by cosine. The search runs in row
blocks (scikit-learn's expansion, float64); the distance of each nearest pair found is then
recomputed directly as ‖g − r‖, so an exact copy has distance 0, not a rounding residue.

Memory: besides the feature rows, each image keeps a ``thumbnail``² × 3 uint8 thumbnail
(32 × 32: 3,072 bytes an image, 30 MiB for 10,000), in the generated and in the reference state.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import torch
import torch.nn.functional as F

import gan_eval
from gan_eval.errors import GanEvalError, UsageError
from gan_eval.metric import Metric
from gan_eval.params import Param
from gan_eval_plugins.prdc import distance_blocks, state_origin

#: Largest PNG strip of closest pairs stored in ``details()`` (base64 characters; details ≤ 64 kB).
MAX_STRIP_CHARS = 40_000
#: Bins of the nearest-neighbour distance histograms.
HISTOGRAM_BINS = 40


def nearest_neighbours(
    queries: torch.Tensor,
    points: torch.Tensor,
    *,
    same: bool = False,
    origin: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(distance, index) of each query's nearest row of ``points``; ``same`` (queries is points)
    excludes each row itself (and, given ``origin``, its copies in a bootstrap resample). Distances
    are recomputed directly for the pairs found."""
    indices = torch.empty(len(queries), dtype=torch.int64, device=queries.device)
    for start, block in distance_blocks(queries, points, same=same, origin=origin):
        if same:
            rows = torch.arange(len(block), device=block.device)
            block[rows, rows + start] = float("inf")
        indices[start : start + len(block)] = block.argmin(dim=1)
    return (queries - points[indices]).norm(dim=1), indices


def authenticity(generated: torch.Tensor, reference: torch.Tensor, reference_origin: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Per generated row: ``distance`` d₁ and ``index`` of its nearest reference row, that row's own
    nearest-neighbour distance ``reference_distance`` d₂, and ``authentic`` (d₂ < d₁). Also
    ``reference_nn`` (d₂ of every reference row)."""
    if generated.ndim != 2 or reference.ndim != 2 or generated.shape[1] != reference.shape[1]:
        raise ValueError(f"memorization needs two N×d feature matrices of equal d, got {tuple(generated.shape)} and {tuple(reference.shape)}")
    if len(reference) < 2 or len(generated) < 1:
        raise ValueError(f"needs at least 2 reference images and 1 generated image (got {len(reference)} and {len(generated)})")
    generated, reference = generated.to(torch.float64), reference.to(torch.float64)
    reference_nn, _ = nearest_neighbours(reference, reference, same=True, origin=reference_origin)
    distance, index = nearest_neighbours(generated, reference)
    return {
        "distance": distance,
        "index": index,
        "reference_distance": reference_nn[index],
        "authentic": reference_nn[index] < distance,
        "reference_nn": reference_nn,
    }


def thumbnails(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 N×3×size×size copies (antialiased bilinear), on the CPU."""
    small = F.interpolate(images.to(torch.float32), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return small.round_().clamp_(0, 255).to(torch.uint8).cpu()


def pairs_strip(generated: np.ndarray, reference: np.ndarray) -> str:
    """A PNG data URI: generated thumbnails on the top row, their nearest reference images below."""
    from PIL import Image

    top, bottom = (np.concatenate(list(t.transpose(0, 2, 3, 1)), axis=1) for t in (generated, reference))
    buffer = io.BytesIO()
    Image.fromarray(np.concatenate([top, bottom], axis=0)).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


class Memorization(Metric):
    name = "memorization"
    summary = "memorisation: AuthPct (Alaa et al. 2022), nearest-reference distances, closest pairs as images"
    requires = frozenset({"features", "images"})
    reference = "required"
    primary = "authpct"
    higher_is_better = True
    state_params = frozenset({"thumbnail"})  # pairs acts in details() only
    params = {
        "pairs": Param(8, "closest (generated, reference) pairs shown in the report"),
        "thumbnail": Param(32, "side of the stored thumbnails in pixels (0: keep none, show no images)"),
    }

    def __init__(self, **params):
        super().__init__(**params)
        if not 0 <= self.p["thumbnail"] <= 128:
            raise UsageError(f"metric memorization: thumbnail must be between 0 and 128 pixels, got {self.p['thumbnail']}")
        if self.p["pairs"] < 0:
            raise UsageError(f"metric memorization: pairs must be at least 0, got {self.p['pairs']}")

    def state_spec(self):
        return {"features": "cat", "thumbnails": "cat"}

    def update(self, state, inputs):
        state.append("features", inputs["features"])
        if self.p["thumbnail"]:
            state.append("thumbnails", thumbnails(inputs["images"], self.p["thumbnail"]))

    def compute(self, generated, reference):
        found = self._authenticity(generated, reference)
        distance = found["distance"]
        authentic = float(found["authentic"].to(torch.float64).mean())
        quantiles = torch.quantile(distance, torch.tensor([0.01, 0.05, 0.5], dtype=torch.float64))
        return {
            "authpct": 100.0 * authentic,
            "memorized_fraction": 1.0 - authentic,
            "nn_distance_min": float(distance.min()),
            "nn_distance_p01": float(quantiles[0]),
            "nn_distance_p05": float(quantiles[1]),
            "nn_distance_p50": float(quantiles[2]),
            "nn_distance_mean": float(distance.mean()),
            "reference_nn_distance_p50": float(found["reference_nn"].median()),
        }

    def details(self, generated, reference):
        found = self._authenticity(generated, reference)
        distance, reference_nn = found["distance"].numpy(), found["reference_nn"].numpy()
        top = max(float(distance.max()), float(reference_nn.max())) or 1.0
        edges = np.linspace(0.0, top, HISTOGRAM_BINS + 1)
        order = np.argsort(distance, kind="stable")[: self.p["pairs"]]
        pairs = [
            {
                "generated": int(j),
                "reference": int(found["index"][j]),
                "distance": float(distance[j]),
                "reference_distance": float(found["reference_distance"][j]),
                "authentic": bool(found["authentic"][j]),
            }
            for j in order
        ]
        return {
            "histogram": {
                "edges": edges.tolist(),
                "generated": np.histogram(distance, edges)[0].tolist(),
                "reference": np.histogram(reference_nn, edges)[0].tolist(),
            },
            "pairs": self._with_strip(pairs, generated, reference),
        }

    def _with_strip(self, pairs: list[dict], generated, reference) -> dict:
        """The pairs, and their thumbnails as one PNG strip, dropping the farthest pairs until it fits."""
        gen_thumbs, ref_thumbs = generated.numpy("thumbnails"), reference.numpy("thumbnails")
        if gen_thumbs is None or ref_thumbs is None or not pairs:
            return {"items": pairs, "strip": None, "thumbnail": None}
        shown = len(pairs)
        while shown:
            strip = pairs_strip(gen_thumbs[[p["generated"] for p in pairs[:shown]]], ref_thumbs[[p["reference"] for p in pairs[:shown]]])
            if len(strip) <= MAX_STRIP_CHARS:
                return {"items": pairs, "strip": strip, "shown": shown, "thumbnail": int(gen_thumbs.shape[-1])}
            shown -= 1
        return {"items": pairs, "strip": None, "thumbnail": None}

    def _authenticity(self, generated, reference) -> dict[str, torch.Tensor]:
        cached = getattr(self, "_cached", None)  # details() follows compute() on the same states: search once
        if cached is not None and cached[0] is generated and cached[1] is reference:
            return cached[2]
        x = generated.get("features")
        y = reference.get("features") if reference is not None else None
        if x is None or y is None:
            raise GanEvalError("memorization: the generated or the reference set has no images")
        try:
            found = authenticity(x, y, state_origin(reference))
        except ValueError as exc:
            raise GanEvalError(f"memorization: {exc}") from None
        self._cached = (generated, reference, found)
        return found


@gan_eval.hookimpl
def register_metrics():
    return [Memorization]


@gan_eval.hookimpl
def register_report_sections():
    from .memorization_report import MemorizationSection

    return [MemorizationSection]
