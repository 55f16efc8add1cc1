"""Quasi-random normal latents for generator sources: scrambled Sobol points through the normal
inverse CDF, as Chong & Forsyth (CVPR 2020) draw them for FID∞/IS∞ (their ``randn_sampler`` with
``use_sobol=True``: botorch's ``NormalQMCEngine(inv_transform=True)``, itself torch's scrambled
``SobolEngine`` followed by √2·erfinv(2v − 1) with v pulled (1 − ε) towards ½ so no point maps to ±∞).

Low-discrepancy latents cover the latent space more evenly than i.i.d. normals, which lowers the
variance of FID_N/IS_N at each N and so of the 1/N extrapolation.
"""

from __future__ import annotations

import math

import torch


def sobol_normal_latents(n: int, dim: int, seed: int, *, start: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Rows ``start`` … ``start + n − 1`` of the scrambled Sobol normal sequence of ``dim`` dimensions
    for ``seed`` (n×dim). Any split of the rows into batches or shards gives the same latents."""
    if n < 0 or start < 0:
        raise ValueError(f"n and start must be non-negative, got n={n}, start={start}")
    if not 1 <= dim <= torch.quasirandom.SobolEngine.MAXDIM:
        raise ValueError(f"Sobol latents need 1 ≤ dim ≤ {torch.quasirandom.SobolEngine.MAXDIM}, got {dim}")
    engine = torch.quasirandom.SobolEngine(dimension=dim, scramble=True, seed=seed)
    if start:
        engine.fast_forward(start)
    uniform = engine.draw(n, dtype=dtype)  # botorch draws in the requested dtype too (float32 by default)
    pulled = 0.5 + (1 - torch.finfo(uniform.dtype).eps) * (uniform - 0.5)
    return torch.erfinv(2 * pulled - 1) * math.sqrt(2)
