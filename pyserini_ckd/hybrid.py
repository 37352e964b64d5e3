"""Choosing the fusion weight on judged queries of a tuning split (never on the evaluated split).

For each value of the grid (alpha for ``linear``, k for ``rrf``), the two runs of the tuning queries
are fused and scored by mean nDCG@10; the best value wins (the smaller on ties).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Dict, List, Tuple

from .data.records import Qrels, Run
from .evaluation import evaluate_run
from .fusion import ALPHA_GRID, RRF_K_GRID, FusionConfig, fuse

logger = logging.getLogger(__name__)


def tune_fusion(dense: Run, sparse: Run, qrels: Qrels, base: FusionConfig,
                measure: str = "nDCG@10") -> Tuple[FusionConfig, List[Dict[str, float]]]:
    """Return the best config and the table of (value, measure) tried."""
    field = "alpha" if base.method == "linear" else "rrf_k"
    grid = ALPHA_GRID if base.method == "linear" else RRF_K_GRID
    table = []
    best = None
    for value in grid:
        config = dataclasses.replace(base, **{field: value}, hits=min(base.hits, 100))
        score = evaluate_run(fuse(dense, sparse, config), qrels, [measure]).aggregates[measure]
        table.append({field: value, measure: score})
        if best is None or score > best[1] + 1e-12:
            best = (value, score)
    logger.info("tuned %s=%s (%s %.4f on %d tuning queries)", field, best[0], measure, best[1], len(qrels))
    return dataclasses.replace(base, **{field: best[0]}), table
