"""``kd``: distillation from a teacher's scores over each query's candidates (Kim et al., 2022).

For row i with teacher scores t_ij on its own candidates C_i (raw scores, as in the labels file):

    t_i,pos <- max_{j in C_i} t_ij                      (the labelled positive raised to the row maximum)
    y_ij = softmax_{j in C_i}(t_ij / T)  for j in C_i;  y_ij = 0 for passages the teacher never scored
    loss = (1/Q) sum_i KL(y_i || softmax(s_i))          (the student's scores are not divided by T)

T = 0.25 by default. In-batch passages of other queries are zero-probability targets: they stay in
the student's denominator. Reference: the authors' code (jihyukkim-nlp/CollectiveKD).
"""

from __future__ import annotations

import torch


def kd_targets(teacher_scores: torch.Tensor, own_columns: torch.Tensor, positive_columns: torch.Tensor,
               temperature: float = 0.25) -> torch.Tensor:
    """``teacher_scores`` (Q, P) holds t_ij on own columns (anything elsewhere); returns (Q, P) targets."""
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    q = positive_columns.shape[0]
    t = teacher_scores.float().masked_fill(~own_columns, float("-inf"))
    row_max = t.max(-1).values
    t = t.clone()
    t[torch.arange(q), positive_columns] = row_max
    return torch.softmax(t / temperature, dim=-1).masked_fill(~own_columns, 0.0)
