"""Inception Score (Salimans et al., 2016) with the OpenAI reference conventions, as torch-fidelity.

From the extractor's ``logits`` (for the standard Inception: the 1008 unbiased logits), in float64:
p(y|x) = softmax(logits); the N images are cut into ``splits`` contiguous chunks (chunk i is
rows ⌊i·N/splits⌋ … ⌊(i+1)·N/splits⌋ − 1); per chunk IS = exp(mean_x KL(p(y|x) ‖ p(y))) with p(y)
the chunk's mean; reported: ``mean`` and ``std`` (ddof = 0) over the chunks.

With ``shuffle`` (default, as torch-fidelity) the rows are first permuted by
``numpy.random.RandomState(seed).permutation(N)`` — torch-fidelity's exact shuffle, seed 2020 by
default — so values equal torch-fidelity's on the same logits; ``shuffle=false`` keeps the source's
order (the OpenAI reference code does not shuffle).

Guards: a warning when a split holds fewer than :data:`MIN_SPLIT_IMAGES` images (IS_N is biased
low for small N, Chong & Forsyth 2020), and a sharper one when every split holds a single image,
where IS is exactly 1 whatever the images. Intervals: the logits rows are resampled
(gan_eval.bootstrap); the shuffle keeps its seed across resamples.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

import gan_eval
from gan_eval.errors import GanEvalError
from gan_eval.metric import Metric
from gan_eval.params import Param


#: Fewer images per split than this make IS noticeably biased and noisy (the usual 50k/10 has 5000).
MIN_SPLIT_IMAGES = 500


def inception_score(logits: torch.Tensor, splits: int = 10, shuffle: bool = True, seed: int = 2020) -> tuple[float, float]:
    """(mean, std) of the Inception Score over ``splits`` contiguous chunks of ``logits`` (N×K)."""
    if logits.ndim != 2:
        raise ValueError(f"logits must be N×K, got shape {tuple(logits.shape)}")
    n = logits.shape[0]
    if splits < 1 or n < splits:
        raise ValueError(f"Inception Score with {splits} splits needs at least {max(splits, 1)} images, got {n}")
    logits = logits.to(torch.float64)
    if shuffle:
        order = torch.from_numpy(np.random.RandomState(seed).permutation(n)).to(logits.device)
        logits = logits[order]
    log_p = torch.log_softmax(logits, dim=1)
    p = log_p.exp()
    scores = []
    for i in range(splits):
        lo, hi = i * n // splits, (i + 1) * n // splits
        log_marginal = torch.logsumexp(log_p[lo:hi], dim=0) - np.log(hi - lo)
        kl = (p[lo:hi] * (log_p[lo:hi] - log_marginal)).sum(dim=1).mean()
        scores.append(kl.exp())
    scores = torch.stack(scores).cpu().numpy()
    return float(scores.mean()), float(scores.std())


class InceptionScore(Metric):
    name = "is"
    summary = "Inception Score: exp E[KL(p(y|x) || p(y))] over 10 splits, mean and std (torch-fidelity conventions)"
    requires = frozenset({"logits"})
    reference = "optional"
    primary = "mean"
    higher_is_better = True
    state_params = frozenset()  # parameters act in compute() only: the reference state does not depend on them
    params = {
        "splits": Param(10, "number of contiguous chunks the score is averaged over"),
        "shuffle": Param(True, "permute the images first with torch-fidelity's seeded shuffle (false: source order)"),
        "seed": Param(2020, "seed of the shuffle (numpy RandomState); the run's --seed unless given; 2020 is torch-fidelity's default"),
    }

    def state_spec(self):
        return {"logits": "cat"}

    def update(self, state, inputs):
        state.append("logits", inputs["logits"])

    def compute(self, generated, reference):
        values = self._score(generated, "generated")
        if reference is not None and reference.get("logits") is not None:
            ref = self._score(reference, "reference")
            values.update({"ref_mean": ref["mean"], "ref_std": ref["std"]})
        return values

    def _score(self, state, where):
        logits = state.get("logits")
        if logits is None:
            raise GanEvalError(f"is: the {where} set has no images")
        split_warning(len(logits), self.p["splits"], where)
        try:
            mean, std = inception_score(logits, self.p["splits"], self.p["shuffle"], self.p["seed"])
        except ValueError as exc:
            raise GanEvalError(f"is: {where} set: {exc} (lower -O is.splits=K)") from None
        return {"mean": mean, "std": std}


def split_warning(n: int, splits: int, where: str) -> None:
    """Warn when the splits are too small for IS to mean something."""
    if splits < 1 or n < splits:
        return  # an error follows
    smallest = n // splits
    if n == splits:
        warnings.warn(
            f"IS of the {where} set: {n} images in {splits} splits leaves one image per split, where IS is exactly 1 "
            f"for any images; use many more images (≥ {MIN_SPLIT_IMAGES} per split) or fewer splits (-O is.splits=K)",
            stacklevel=3,
        )
    elif smallest < MIN_SPLIT_IMAGES:
        warnings.warn(
            f"IS of the {where} set: {n} images in {splits} splits gives {smallest} per split (< {MIN_SPLIT_IMAGES}); "
            "IS from small splits is biased low and not comparable with the usual 50,000 images in 10 splits",
            stacklevel=3,
        )


@gan_eval.hookimpl
def register_metrics():
    return [InceptionScore]
