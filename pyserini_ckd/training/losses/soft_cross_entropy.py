"""The shared part of every loss: masked log-softmax over a row, cross-entropy against soft targets.

    loss = -(1 / Q) * sum_i sum_j y_ij * log softmax_j(s_i + log m_i)

For a one-hot y this is the usual cross-entropy; for a soft y it equals KL(y || softmax(s)) up to the
entropy of y, which does not depend on the student (so the gradients are KL's); :func:`kl_divergence`
gives the KL value itself for logging.
"""

from __future__ import annotations

import torch


def masked_log_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return torch.log_softmax(scores.float().masked_fill(~mask, float("-inf")), dim=-1)


def soft_cross_entropy(scores: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over rows of -sum_j y_ij log p_ij; masked columns must have zero target."""
    if scores.shape != mask.shape or scores.shape != targets.shape:
        raise ValueError(f"scores {tuple(scores.shape)}, mask {tuple(mask.shape)} and targets {tuple(targets.shape)} must match")
    logp = masked_log_softmax(scores, mask)
    contrib = torch.where(targets > 0, targets * logp, torch.zeros_like(logp))
    return -contrib.sum(-1).mean()


def kl_divergence(scores: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over rows of KL(y || softmax(s)) = sum_j y_ij (log y_ij - log p_ij)."""
    logp = masked_log_softmax(scores, mask)
    safe_y = targets.clamp(min=1e-30)
    contrib = torch.where(targets > 0, targets * (safe_y.log() - logp), torch.zeros_like(logp))
    return contrib.sum(-1).mean()
