"""Which domain net suits 28×28 gray data: ``--extractor auto``'s choice between mnist-cnn and fashion-cnn.

1. A stated dataset wins: the reference's ``info()["dataset"]`` (the real data defines the domain),
   else the generated source's (dataset sources state it; trainer checkpoints record the data they
   were trained on). A name containing "fashion" means Fashion-MNIST, else one containing "mnist"
   means MNIST digits.
2. Otherwise a data test: both nets classify up to 256 images (the reference's, else the generated
   ones) and the net whose classes carry more information about the images wins: the larger mutual
   information I(x; y) = H(mean p(y|x)) - mean H(p(y|x)) (the log of the Inception Score of the
   sample). On data of its own domain a net's predictions are confident *and* spread over its 10
   classes; on the other domain they are less confident and pile up on a few classes. Confidence
   alone is not enough: classifiers are over-confident on foreign data (the MNIST net's mean top
   probability on clothes is 0.88). Measured margins are in docs/extractors/domain.md.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np
import torch

#: domain -> extractor name
DOMAINS = {"mnist": "mnist-cnn", "fashion": "fashion-cnn"}
SAMPLE_SIZE = 256
_CACHE_KEY = "_domain_guess"


def domain_from_name(name: Any) -> str | None:
    """``fashion-mnist`` -> fashion, ``mnist5k`` -> mnist, anything else -> None."""
    if not isinstance(name, str):
        return None
    lowered = name.lower()
    if "fashion" in lowered:
        return "fashion"
    if "mnist" in lowered:
        return "mnist"
    return None


def is_gray28(info: Mapping[str, Any]) -> bool:
    return info.get("height") == 28 and info.get("width") == 28 and info.get("channels") == 1


def class_information(net: torch.nn.Module, images: np.ndarray) -> float:
    """I(x; y) in nats of ``net``'s class posterior over uint8 N×C×28×28 ``images`` (log of their IS)."""
    from .net import normalise, to_gray01

    with torch.inference_mode():
        _, logits = net(normalise(to_gray01(torch.from_numpy(np.array(images, dtype=np.uint8)))))
    log_p = logits.double().log_softmax(1)
    p = log_p.exp()
    marginal = p.mean(0)
    entropy_of_mean = -(marginal * marginal.clamp_min(1e-300).log()).sum()
    mean_entropy = -(p * log_p).sum(1).mean()
    return float(entropy_of_mean - mean_entropy)


def guess_domain(info: dict[str, Any], nets: Callable[[str], torch.nn.Module | None]) -> tuple[str | None, str]:
    """(domain or None, why). Cached in ``info`` so that each extractor's ``suits`` shares one answer.

    ``nets(domain)`` gives the loaded net of a domain (None when it cannot be loaded).
    """
    if _CACHE_KEY not in info:
        info[_CACHE_KEY] = _guess(info, nets)
    return info[_CACHE_KEY]


def _guess(info: Mapping[str, Any], nets: Callable[[str], torch.nn.Module | None]) -> tuple[str | None, str]:
    reference = info.get("reference") or {}
    for label, where in (("reference", reference), ("generated", info)):
        domain = domain_from_name(where.get("dataset"))
        if domain:
            return domain, f"the {label} data states dataset {where.get('dataset')!r}"
    for label, where in (("reference", reference), ("generated", info)):
        sample = where.get("sample")
        if not callable(sample) or not is_gray28(where):
            continue
        try:
            images = sample(SAMPLE_SIZE)
        except Exception:  # a source that cannot be sampled (e.g. a statistics file) just gives no evidence
            continue
        if images is None or len(images) == 0:
            continue
        scores = {d: class_information(net, images) for d in DOMAINS if (net := nets(d)) is not None}
        if not scores:
            return None, "no domain net could be loaded"
        best = max(scores, key=scores.get)
        detail = ", ".join(f"{DOMAINS[d]} {v:.3f}" for d, v in scores.items())
        return best, f"data test on {len(images)} {label} images (class information in nats: {detail})"
    return None, "no dataset is stated and no images could be sampled"
