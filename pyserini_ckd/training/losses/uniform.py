"""``uniform``: label smoothing, epsilon spread evenly over the query's other candidates.

    y_i,pos = 1 - eps;   y_ij = eps / (n_i - 1) for the query's other n_i - 1 candidates;   0 elsewhere
    loss = -(1/Q) sum_i sum_j y_ij log softmax(s_i)_j

In-batch passages of other queries keep a zero target (they are negatives in the denominator only).
Reference: Szegedy et al. (2016), label smoothing; the baseline the paper compares against.
"""

from __future__ import annotations

import torch


def uniform_targets(positive_columns: torch.Tensor, own_columns: torch.Tensor, epsilon: float) -> torch.Tensor:
    """``own_columns`` (Q, P) bool marks each row's own candidates (its positive included)."""
    if not 0.0 <= epsilon < 1.0:
        raise ValueError(f"epsilon must be in [0, 1), got {epsilon}")
    q = positive_columns.shape[0]
    others = own_columns.clone()
    others[torch.arange(q), positive_columns] = False
    counts = others.sum(-1, keepdim=True).clamp(min=1)
    targets = others.float() * (epsilon / counts)
    has_others = others.any(-1)
    targets[torch.arange(q), positive_columns] = torch.where(has_others, torch.full((q,), 1.0 - epsilon), torch.ones(q))
    return targets
