"""Labelers behind one registry (``LABELERS``): each turns a query into a :class:`LabelRecord`.

- ``hard``: positives 1, BM25 negatives 0 (one-hot);
- ``uniform``: positives share 1 - epsilon, the other candidates epsilon evenly;
- ``teacher``: the teacher's raw scores over positives, BM25 negatives and its own top non-positives;
- ``collective``: the same teacher with pseudo-relevance feedback: the first ranking's top documents
  expand the query (ColBERT-PRF for a late-interaction teacher, Rocchio for a dense one); the expanded
  query ranks again (its top non-positives are the teacher negatives) and scores every candidate;
- ``cross-encoder``: a cross-encoder's scores; its ranking re-ranks the query's BM25 pool.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..errors import ConfigError
from ..teacher.prf import PRFConfig, RocchioConfig
from .labels import LabelRecord, merge_candidates

LABELERS = ("collective", "teacher", "cross-encoder", "uniform", "hard")
NEEDS_TEACHER = {"collective", "teacher", "cross-encoder"}


@dataclass
class LabelSettings:
    bm25_negatives: int = 20
    teacher_negatives: int = 20
    teacher_depth: int = 100  # the teacher's ranking depth (and of the --run it writes)
    epsilon: float = 0.1
    prf: PRFConfig = field(default_factory=PRFConfig)
    rocchio: RocchioConfig = field(default_factory=RocchioConfig)

    def __post_init__(self) -> None:
        if self.bm25_negatives < 0 or self.teacher_negatives < 0 or self.teacher_depth <= 0:
            raise ConfigError("negative counts must be >= 0 and teacher-depth positive")
        if not 0 <= self.epsilon < 1:
            raise ConfigError(f"epsilon must be in [0, 1), got {self.epsilon}")


@dataclass
class Timer:
    seconds: Dict[str, float] = field(default_factory=lambda: {"prf": 0.0, "scoring": 0.0})

    def add(self, stage: str, start: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start


def _fixed(qid: str, positives: List[str], bm25: Sequence[str], labeler: str, settings: LabelSettings) -> LabelRecord:
    cands = merge_candidates([("positive", positives), ("bm25", bm25)])
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


def label_query(labeler: str, teacher, qid: str, text: str, positives: List[str], bm25: Sequence[str],
                settings: LabelSettings, timer: Timer) -> Tuple[LabelRecord, List[Tuple[str, float]]]:
    """The query's labels and the labeler's ranking (empty for hard and uniform)."""
    bm25 = [d for d in bm25 if d not in positives][:settings.bm25_negatives]
    if labeler in ("hard", "uniform"):
        return _fixed(qid, positives, bm25, labeler, settings), []
    start = time.perf_counter()
    q = teacher.query(text)
    expansion = None
    if labeler == "cross-encoder":
        ranking = teacher.rank_pool(q, qid, settings.teacher_depth)
    else:
        ranking = teacher.rank(q, settings.teacher_depth)
        if labeler == "collective":
            timer.add("scoring", start)
            start = time.perf_counter()
            expansion = teacher.expand(q, [d for d, _ in ranking[:_fb_docs(teacher, settings)]])
            timer.add("prf", start)
            start = time.perf_counter()
            ranking = teacher.rank(q, settings.teacher_depth, expansion)
    pos = set(positives)
    teacher_negs = [d for d, _ in ranking if d not in pos][:settings.teacher_negatives]
    cands = merge_candidates([("positive", positives), ("bm25", bm25), ("teacher", teacher_negs)])
    for d, _ in ranking:
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
