"""Choosing the fusion weight on judged queries of a tuning split (never on the evaluated split).

For each value of the grid (alpha for ``linear``, k for ``rrf``), the two runs of the tuning queries
are fused and scored by mean nDCG@10; the best value wins (the smaller on ties), or, with a
significance level, only where it beats the starting value significantly (see :func:`tune_fusion`).

Which tuning queries: a fine-tuned dense model ranks documents it saw as positives in training far
better than new ones (SciFact's ``test-unseen`` split exists for that reason), so a weight tuned on
held-out queries whose relevant documents were training positives leans on the dense run more than
new queries or new collections bear. :func:`unseen_slice` keeps the held-out queries none of whose
relevant documents is relevant to any training query: the tuning set that looks like unseen data.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Dict, List, Optional, Tuple

from ..data.records import Qrels, Run
from ..metrics import evaluate_run, paired_t_test
from .fusion import ALPHA_GRID, RRF_K_GRID, FusionConfig, fuse

logger = logging.getLogger(__name__)


def unseen_slice(dev: Qrels, train: Qrels) -> Qrels:
    """The queries of ``dev`` none of whose relevant documents is relevant to a query of ``train``
    outside ``dev``."""
    seen = {doc for q, rel in train.items() if q not in dev for doc, grade in rel.items() if grade > 0}
    return {q: rel for q, rel in dev.items() if not any(doc in seen for doc, grade in rel.items() if grade > 0)}


def tune_fusion(dense: Run, sparse: Run, qrels: Qrels, base: FusionConfig, measure: str = "nDCG@10",
                significance: Optional[float] = None) -> Tuple[FusionConfig, List[Dict[str, float]]]:
    """Return the best config and the table of (value, measure) tried.

    With ``significance``, the best value replaces ``base``'s own value only where its per-query
    ``measure`` is above that of ``base``'s value with a paired two-sided t-test p below ``significance``:
    on a few dozen tuning queries the grid's maximum is mostly noise, and a default that needs no
    tuning (equal weights of normalised scores) transfers better than a weight fitted to that noise.
    """
    field = "alpha" if base.method == "linear" else "rrf_k"
    grid = ALPHA_GRID if base.method == "linear" else RRF_K_GRID
    table = []
    best = None
    per_query = {}
    for value in dict.fromkeys(grid + ((getattr(base, field),) if significance is not None else ())):
        config = dataclasses.replace(base, **{field: value}, hits=min(base.hits, 100))
        result = evaluate_run(fuse(dense, sparse, config), qrels, [measure])
        score, per_query[value] = result.aggregates[measure], result.per_query[measure]
        table.append({field: value, measure: score})
        if best is None or score > best[1] + 1e-12:
            best = (value, score)
    chosen = best[0]
    if significance is not None and chosen != getattr(base, field):
        default = getattr(base, field)
        p = paired_t_test(per_query[default], per_query[chosen])
        if not p < significance:
            logger.info("best %s=%s is not significantly above the default %s (p %.3f): keeping the default", field, chosen, default, p)
            chosen = default
    logger.info("tuned %s=%s (%s %.4f on %d tuning queries)", field, chosen,
                measure, next(r[measure] for r in table if r[field] == chosen), len(qrels))
    return dataclasses.replace(base, **{field: chosen}), table
