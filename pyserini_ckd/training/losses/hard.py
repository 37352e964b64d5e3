"""``hard``: softmax cross-entropy with the labelled positive as the only target.

    y_ij = 1 if column j is row i's positive, else 0
    loss = -(1/Q) sum_i log softmax(s_i)_{pos(i)}

Inputs: ``positive_columns`` (Q,) long, the column of each row's positive. In-batch negatives and the
query's own negatives share the denominator. Reference: DPR (Karpukhin et al., 2020).
"""

from __future__ import annotations

import torch


def hard_targets(positive_columns: torch.Tensor, num_columns: int) -> torch.Tensor:
    """One-hot (Q, P) targets."""
    targets = torch.zeros(positive_columns.shape[0], num_columns)
    targets[torch.arange(positive_columns.shape[0]), positive_columns] = 1.0
    return targets
