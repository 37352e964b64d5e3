"""Training losses over a batch's score matrix, one per module, each a pure function of tensors.

Every loss takes the same inputs (see :mod:`.batch_scores`):

- ``scores``: (Q, P) student scores of each query against every passage in the batch (its own
  candidates and the other queries' ones: in-batch negatives);
- ``mask``: (Q, P) bool, False where a column must not count for that row (a duplicate document, or
  another labelled positive of the query); masked columns get -inf before the softmax;
- ``targets``: (Q, P) target probabilities (rows sum to 1, zero on masked columns).

The loss modules differ only in how they build ``targets``.
"""

from .hard import hard_targets
from .kd import kd_targets
from .uniform import uniform_targets
from .batch_scores import soft_cross_entropy

LOSSES = ("hard", "uniform", "kd")

__all__ = ["LOSSES", "hard_targets", "uniform_targets", "kd_targets", "soft_cross_entropy"]
