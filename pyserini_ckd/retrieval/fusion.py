"""Fusion of a sparse (BM25) and a dense run, behind one registry (``FUSIONS``).

- ``linear``: Pyserini's ``HybridSearcher`` formula. A document missing from one list takes that
  list's minimum score; with ``normalization`` each score becomes (s - (min + max) / 2) / (max - min)
  (guarded: a list whose scores are all equal normalises to 0 instead of dividing by zero); then
  score = alpha * sparse + dense (or sparse + alpha * dense with ``weight_on_dense``).
- ``rrf``: reciprocal rank fusion, score = sum over the runs of 1 / (k + rank), rank from 1.

Both return at most ``k`` hits per query, scores non-increasing, no duplicates, ties broken by
document id so that the output never depends on set or dict order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Sequence

from ..data.records import Run, ScoredDoc
from ..errors import ConfigError


@dataclass
class FusionConfig:
    method: str = "linear"
    alpha: float = 0.1
    normalization: bool = False
    weight_on_dense: bool = False
    rrf_k: float = 60.0
    hits: int = 1000

    def __post_init__(self) -> None:
        if self.method not in FUSIONS:
            raise ConfigError(f"unknown fusion {self.method!r}; choose from {', '.join(FUSIONS)}")
        if self.hits <= 0 or self.rrf_k <= 0:
            raise ConfigError("hits and rrf-k must be positive")


def _ranked(scores: Dict[str, float], k: int) -> List[ScoredDoc]:
    return [ScoredDoc(d, s) for d, s in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]


def linear_fusion_hits(dense: Sequence[ScoredDoc], sparse: Sequence[ScoredDoc], alpha: float, k: int,
                       normalization: bool = False, weight_on_dense: bool = False) -> List[ScoredDoc]:
    """Fuse one query's hits with Pyserini's linear formula (see the module docstring)."""
    d = {h.docid: float(h.score) for h in dense}
    s = {h.docid: float(h.score) for h in sparse}
    d_min, d_max = (min(d.values()), max(d.values())) if d else (0.0, 1.0)
    s_min, s_max = (min(s.values()), max(s.values())) if s else (0.0, 1.0)

    def norm(x: float, lo: float, hi: float) -> float:
        return (x - (lo + hi) / 2) / (hi - lo) if hi > lo else 0.0

    fused = {}
    for doc in d.keys() | s.keys():
        ds, ss = d.get(doc, d_min), s.get(doc, s_min)
        if normalization:
            ds, ss = norm(ds, d_min, d_max), norm(ss, s_min, s_max)
        fused[doc] = ss + alpha * ds if weight_on_dense else alpha * ss + ds
    return _ranked(fused, k)


def rrf_hits(lists: Sequence[Sequence[ScoredDoc]], k: int, rrf_k: float = 60.0) -> List[ScoredDoc]:
    """Reciprocal rank fusion of one query's hit lists."""
    fused: Dict[str, float] = {}
    for hits in lists:
        seen = set()
        for rank, h in enumerate(hits, 1):
            if h.docid in seen:
                continue
            seen.add(h.docid)
            fused[h.docid] = fused.get(h.docid, 0.0) + 1.0 / (rrf_k + rank)
    return _ranked(fused, k)


def _linear(dense: Run, sparse: Run, c: FusionConfig) -> Run:
    return {q: linear_fusion_hits(dense.get(q, []), sparse.get(q, []), c.alpha, c.hits, c.normalization, c.weight_on_dense)
            for q in dict.fromkeys(list(sparse) + list(dense))}


def _rrf(dense: Run, sparse: Run, c: FusionConfig) -> Run:
    return {q: rrf_hits([sparse.get(q, []), dense.get(q, [])], c.hits, c.rrf_k)
            for q in dict.fromkeys(list(sparse) + list(dense))}


FUSIONS: Dict[str, Callable[[Run, Run, FusionConfig], Run]] = {"linear": _linear, "rrf": _rrf}

#: The values ``--tune-on`` tries: alpha for linear fusion, k for RRF.
ALPHA_GRID = (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0)
RRF_K_GRID = (5.0, 10.0, 20.0, 40.0, 60.0, 100.0)


def fuse(dense: Run, sparse: Run, config: FusionConfig) -> Run:
    return FUSIONS[config.method](dense, sparse, config)
