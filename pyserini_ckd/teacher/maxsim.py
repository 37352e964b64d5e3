"""Late-interaction scoring (ColBERT's MaxSim), with optional weighted expansion vectors (ColBERT-PRF).

For query vectors q_1..q_m (weights w_i, 1 for the query's own tokens, beta x IDF for expansion
vectors) and a document's token vectors d_1..d_n:

    s(q, d) = sum_i w_i max_j sim(q_i, d_j)

with sim either ``cosine`` (q_i . d_j) or ``l2`` (-||q_i - d_j||^2, as in the authors' code). For
unit vectors -||q - d||^2 = 2 q.d - 2, so the two rank alike; the scale matters for soft labels.
Masked document tokens (padding, punctuation) never win the max.
"""

from __future__ import annotations

from typing import Optional

import torch

SIMILARITIES = ("l2", "cosine")


def token_similarity(q: torch.Tensor, d: torch.Tensor, similarity: str) -> torch.Tensor:
    """q (..., m, k), d (..., n, k) -> (..., m, n)."""
    dots = q @ d.transpose(-1, -2)
    if similarity == "cosine":
        return dots
    if similarity == "l2":
        return 2 * dots - (q * q).sum(-1, keepdim=True) - (d * d).sum(-1).unsqueeze(-2)
    raise ValueError(f"similarity must be one of {SIMILARITIES}, got {similarity!r}")


def maxsim_pairwise(q: torch.Tensor, d: torch.Tensor, d_mask: torch.Tensor, similarity: str,
                    q_weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Scores of every query against every document: q (Q, m, k), d (P, n, k), d_mask (P, n) -> (Q, P)."""
    sims = torch.einsum("qik,pjk->qpij", q, d)
    if similarity == "l2":
        sims = 2 * sims - (q * q).sum(-1)[:, None, :, None] - (d * d).sum(-1)[None, :, None, :]
    elif similarity != "cosine":
        raise ValueError(f"similarity must be one of {SIMILARITIES}, got {similarity!r}")
    sims = sims.masked_fill(~d_mask.bool()[None, :, None, :], float("-inf"))
    best = sims.max(-1).values  # (Q, P, m)
    best = torch.nan_to_num(best, neginf=0.0)  # a document with no token at all scores 0 per query vector
    if q_weights is not None:
        best = best * q_weights[:, None, :]
    return best.sum(-1)
