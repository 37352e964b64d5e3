"""Training losses over a batch's score matrix, one per module, each a pure function of tensors.

Every loss takes the same inputs (see :mod:`.soft_cross_entropy`):

- ``scores``: (Q, P) student scores of each query against every passage in the batch (its own
  candidates and the other queries' ones: in-batch negatives);
- ``mask``: (Q, P) bool, False where a column must not count for that row (a duplicate document, or
  another labelled positive of the query); masked columns get -inf before the softmax;
- ``targets``: (Q, P) target probabilities (rows sum to 1, zero on masked columns).

The loss modules differ only in how they build ``targets``.
"""

from typing import TYPE_CHECKING, Callable, Dict

from ...errors import CkdError
from .hard import hard_targets
from .kd import kd_targets
from .soft_cross_entropy import soft_cross_entropy
from .uniform import uniform_targets

if TYPE_CHECKING:
    import torch

    from ..data import Batch


def _hard(batch: "Batch", config) -> "torch.Tensor":
    return hard_targets(batch.positive_columns, len(batch.docids))


def _uniform(batch: "Batch", config) -> "torch.Tensor":
    return uniform_targets(batch.positive_columns, batch.own, config.epsilon)


def _kd(batch: "Batch", config) -> "torch.Tensor":
    if not batch.own.any() or not any(q.scores for q in batch.queries):
        raise CkdError("the kd loss needs teacher scores: train with --labels")
    return kd_targets(batch.teacher, batch.own, batch.positive_columns, config.temperature)


# The (Q, P) target distribution of each loss, from a batch and the trainer's settings (epsilon, temperature).
# Adding a loss is one entry here.
TARGETS: Dict[str, Callable[["Batch", object], "torch.Tensor"]] = {"hard": _hard, "uniform": _uniform, "kd": _kd}
LOSSES = tuple(TARGETS)

__all__ = ["LOSSES", "TARGETS", "hard_targets", "uniform_targets", "kd_targets", "soft_cross_entropy"]
