"""Labelers behind one registry (``LABELERS``): each turns a query into a :class:`LabelRecord`.

- ``hard``: positives 1, BM25 negatives 0 (one-hot);
- ``uniform``: positives share 1 - epsilon, the other candidates epsilon evenly;
- ``teacher``: the teacher's raw scores over positives, BM25 negatives and its own top non-positives;
- ``collective``: the same teacher with pseudo-relevance feedback: the first ranking's top documents
  expand the query (ColBERT-PRF for a late-interaction teacher, Rocchio for a dense one) and the expanded
  query scores every candidate. Its teacher negatives come from the plain (unexpanded) ranking, as in the
  authors' code (their step 2-2 runs with ``--fb_k 0 --beta 0``); ``negatives_from="expanded"`` takes them
  from the expanded ranking instead, so that PRF picks both the negatives and their scores;
- ``cross-encoder``: a cross-encoder's scores; its ranking re-ranks the query's BM25 pool.

With a **pool** (``label --pool LABELS``: another labels file, normally the plain teacher's), every labeler
scores exactly that file's candidates for each query instead of choosing its own; hard, uniform and the
teachers then differ only in their targets, which is what a comparison of labelers needs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..errors import ConfigError
from ..jobs import non_negative_float, positive_int, setting
from ..teacher.prf import PRFConfig, RocchioConfig
from .labels import LabelRecord, merge_candidates

LABELERS = ("collective", "teacher", "cross-encoder", "uniform", "hard")
NEEDS_TEACHER = {"collective", "teacher", "cross-encoder"}
NEGATIVES_FROM = ("plain", "expanded")  # collective: which teacher ranking gives the teacher negatives
Pool = List[Tuple[str, List[str]]]  # one query's candidates (docid, sources), positives included


@dataclass
class LabelSettings:
    """How a labeler builds and scores a query's candidates; every field is an option of ``python -m pyserini_ckd.label``."""

    bm25_negatives: int = setting(20, type=int, group="candidates", help="BM25's top non-positives in each query's pool")
    teacher_negatives: int = setting(20, type=int, group="candidates", help="the teacher's top non-positives in the pool")
    teacher_depth: int = setting(100, type=positive_int, group="candidates",
                                 help="the teacher's ranking depth (and of the --run it writes)")
    epsilon: float = setting(0.1, type=non_negative_float, group="candidates", help="uniform: label smoothing")
    negatives_from: str = setting("plain", choices=NEGATIVES_FROM, group="candidates",
                                  help="collective without --pool: take the teacher negatives from the plain ranking (the "
                                       "authors' code) or from the PRF-expanded one")
    prf: PRFConfig = setting(nested=PRFConfig)
    rocchio: RocchioConfig = setting(nested=RocchioConfig, prefix="rocchio_")

    def __post_init__(self) -> None:
        if self.bm25_negatives < 0 or self.teacher_negatives < 0 or self.teacher_depth <= 0:
            raise ConfigError("negative counts must be >= 0 and teacher-depth positive")
        if not 0 <= self.epsilon < 1:
            raise ConfigError(f"epsilon must be in [0, 1), got {self.epsilon}")
        if self.negatives_from not in NEGATIVES_FROM:
            raise ConfigError(f"negatives-from must be one of {', '.join(NEGATIVES_FROM)}, got {self.negatives_from!r}")


@dataclass
class Timer:
    seconds: Dict[str, float] = field(default_factory=lambda: {"prf": 0.0, "scoring": 0.0})

    def add(self, stage: str, start: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start


def _fixed(qid: str, positives: List[str], cands: Dict[str, List[str]], labeler: str, settings: LabelSettings) -> LabelRecord:
    n_other = sum(1 for d in cands if d not in positives)
    rows = []
    for d, sources in cands.items():
        if labeler == "hard":
            score = 1.0 / len(positives) if d in positives else 0.0
        elif d in positives:
            score = (1.0 - (settings.epsilon if n_other else 0.0)) / len(positives)
        else:
            score = settings.epsilon / n_other
        rows.append({"docid": d, "score": score, "sources": sources})
    return LabelRecord(qid, positives, rows)


def _pool_candidates(positives: List[str], pool: Pool) -> Dict[str, List[str]]:
    """The pool's candidates in its order, every labelled positive among them (first, if the pool lacks it)."""
    pooled = {d for d, _ in pool}
    cands = merge_candidates([("positive", [d for d in positives if d not in pooled])])
    for d, sources in pool:
        cands.setdefault(d, list(sources))
    return cands


def label_query(labeler: str, teacher, qid: str, text: str, positives: List[str], bm25: Sequence[str],
                settings: LabelSettings, timer: Timer, pool: Optional[Pool] = None) -> Tuple[LabelRecord, List[Tuple[str, float]]]:
    """The query's labels and the labeler's ranking (empty for hard and uniform).

    Without ``pool`` the candidates are the positives, the top ``bm25_negatives`` of ``bm25`` and the
    teacher's top ``teacher_negatives`` non-positives; with ``pool`` they are the pool's.
    """
    bm25 = [d for d in bm25 if d not in positives][:settings.bm25_negatives]
    pooled = _pool_candidates(positives, pool) if pool is not None else None
    if labeler in ("hard", "uniform"):
        cands = pooled if pooled is not None else merge_candidates([("positive", positives), ("bm25", bm25)])
        return _fixed(qid, positives, cands, labeler, settings), []
    start = time.perf_counter()
    q = teacher.query(text)
    expansion = None
    if labeler == "cross-encoder":
        if pooled is not None:
            docids = list(pooled)
            ranking = sorted(zip(docids, teacher.score(q, docids)), key=lambda x: -x[1])
        else:
            ranking = teacher.rank_pool(q, qid, settings.teacher_depth)
        plain = ranking
    else:
        ranking = plain = teacher.rank(q, settings.teacher_depth)
        if labeler == "collective":
            timer.add("scoring", start)
            start = time.perf_counter()
            expansion = teacher.expand(q, [d for d, _ in plain[:_fb_docs(teacher, settings)]])
            timer.add("prf", start)
            start = time.perf_counter()
            ranking = teacher.rank(q, settings.teacher_depth, expansion)
    pos = set(positives)
    if pooled is not None:
        cands = pooled
    else:
        source = ranking if settings.negatives_from == "expanded" else plain
        teacher_negs = [d for d, _ in source if d not in pos][:settings.teacher_negatives]
        cands = merge_candidates([("positive", positives), ("bm25", bm25), ("teacher", teacher_negs)])
        for d, _ in source:
            if d in pos and d in cands and "teacher" not in cands[d]:
                cands[d].append("teacher")
    docids = list(cands)
    scores = teacher.score(q, docids, expansion)
    timer.add("scoring", start)
    rows = [{"docid": d, "score": round(float(s), 6), "sources": cands[d]} for d, s in zip(docids, scores)]
    exp_json = expansion.as_json() if expansion is not None and expansion.tokens else []
    return LabelRecord(qid, positives, rows, exp_json), ranking


def _fb_docs(teacher, settings: LabelSettings) -> int:
    return settings.rocchio.fb_docs if getattr(teacher, "kind", "") == "dense" else settings.prf.fb_docs
