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


def _fixed_labels(qid, positives, bm25, settings, pooled, name):
    cands = pooled if pooled is not None else merge_candidates([("positive", positives), ("bm25", bm25)])
    return _fixed(qid, positives, cands, name, settings), []


def _teacher_labels(teacher, q, qid, positives, bm25, settings, timer, pooled, expand: bool, ranked: bool = True):
    """The (late-interaction or dense) teacher's ranking, with PRF (collective) when ``expand``, and its scores
    of the candidates; teacher negatives from the plain ranking unless ``settings.negatives_from`` says expanded.

    The expanded query's search over the whole collection serves only its ranking (and expanded negatives):
    with ``ranked`` false and plain negatives it is skipped, as in the paper, whose collective teacher only
    scores candidates with the expanded query; the ranking returned is then empty."""
    start = time.perf_counter()
    ranking = plain = teacher.rank(q, settings.teacher_depth)
    expansion = None
    if expand:
        timer.add("scoring", start)
        start = time.perf_counter()
        expansion = teacher.expand(q, [d for d, _ in plain[:_fb_docs(teacher, settings)]])
        timer.add("prf", start)
        start = time.perf_counter()
        if ranked or settings.negatives_from == "expanded":
            ranking = teacher.rank(q, settings.teacher_depth, expansion)
        else:
            ranking = []
    if pooled is not None:
        cands = pooled
    else:
        source = ranking if settings.negatives_from == "expanded" else plain
        cands = _with_teacher_negatives(positives, bm25, source, settings)
    return _scored(teacher, q, qid, positives, cands, expansion, timer, start), ranking


def _cross_encoder_labels(teacher, q, qid, positives, bm25, settings, timer, pooled):
    """The cross-encoder re-ranks BM25's top ``teacher_depth`` (or scores the pool) and scores the candidates."""
    start = time.perf_counter()
    if pooled is not None:  # the pool is both what it ranks and what it labels: scored once
        scores = teacher.score(q, list(pooled))
        ranking = sorted(zip(pooled, scores), key=lambda x: -x[1])
        return _scored(teacher, q, qid, positives, pooled, None, timer, start, scores), ranking
    ranking = teacher.rank_pool(q, qid, settings.teacher_depth)
    cands = _with_teacher_negatives(positives, bm25, ranking, settings)
    return _scored(teacher, q, qid, positives, cands, None, timer, start), ranking


def _with_teacher_negatives(positives, bm25, source, settings) -> Dict[str, List[str]]:
    """Positives, BM25 negatives and the top ``teacher_negatives`` non-positives of ``source`` (a ranking)."""
    pos = set(positives)
    teacher_negs = [d for d, _ in source if d not in pos][:settings.teacher_negatives]
    cands = merge_candidates([("positive", positives), ("bm25", bm25), ("teacher", teacher_negs)])
    for d, _ in source:
        if d in pos and d in cands and "teacher" not in cands[d]:
            cands[d].append("teacher")
    return cands


def _scored(teacher, q, qid, positives, cands, expansion, timer, start, scores=None) -> LabelRecord:
    """The candidates' teacher scores as a labels record (``scores``: already computed, in ``cands``' order)."""
    docids = list(cands)
    if scores is None:
        scores = teacher.score(q, docids, expansion)
    timer.add("scoring", start)
    rows = [{"docid": d, "score": round(float(s), 6), "sources": cands[d]} for d, s in zip(docids, scores)]
    exp_json = expansion.as_json() if expansion is not None and expansion.tokens else []
    return LabelRecord(qid, positives, rows, exp_json)


@dataclass(frozen=True)
class Labeler:
    """A way to label a query's candidates.

    ``teacher``: the teacher kind it needs (None: none); ``student_loss``: the loss a student of its labels
    trains with; ``probabilities``: its scores are target probabilities already (no temperature)."""

    name: str
    teacher: Optional[str]
    student_loss: str
    probabilities: bool
    label: Callable  # (teacher, query, qid, positives, bm25 negatives, settings, timer, pool, ranked) -> (record, ranking)
    expands: bool = False  # its teacher expands each query from the first ranking (PRF or Rocchio)


LI_TEACHER = "late-interaction or dense"  # the teacher kind of the ranking labelers (its folder says which)
CE_TEACHER = "cross-encoder"

# Every labeler by name, in the order the CLI lists them. Adding a labeler is one entry here.
LABELERS: Dict[str, Labeler] = {l.name: l for l in (
    Labeler("collective", LI_TEACHER, "kd", False,
            lambda t, q, qid, pos, bm25, s, timer, pool, ranked: _teacher_labels(t, q, qid, pos, bm25, s, timer, pool, True, ranked),
            expands=True),
    Labeler("teacher", LI_TEACHER, "kd", False,
            lambda t, q, qid, pos, bm25, s, timer, pool, ranked: _teacher_labels(t, q, qid, pos, bm25, s, timer, pool, False)),
    Labeler("cross-encoder", CE_TEACHER, "kd", False,
            lambda t, q, qid, pos, bm25, s, timer, pool, ranked: _cross_encoder_labels(t, q, qid, pos, bm25, s, timer, pool)),
    Labeler("uniform", None, "uniform", True,
            lambda t, q, qid, pos, bm25, s, timer, pool, ranked: _fixed_labels(qid, pos, bm25, s, pool, "uniform")),
    Labeler("hard", None, "hard", True,
            lambda t, q, qid, pos, bm25, s, timer, pool, ranked: _fixed_labels(qid, pos, bm25, s, pool, "hard")),
)}
NEEDS_TEACHER = {name for name, l in LABELERS.items() if l.teacher is not None}


def label_query(labeler: str, teacher, qid: str, text: str, positives: List[str], bm25: Sequence[str],
                settings: LabelSettings, timer: Timer, pool: Optional[Pool] = None,
                ranked: bool = True) -> Tuple[LabelRecord, List[Tuple[str, float]]]:
    """The query's labels and the labeler's ranking (empty for hard and uniform, and for the collective
    labeler when ``ranked`` is false: its labels are the same, the expanded query's full search is skipped).

    Without ``pool`` the candidates are the positives, the top ``bm25_negatives`` of ``bm25`` and the
    teacher's top ``teacher_negatives`` non-positives; with ``pool`` they are the pool's.
    """
    bm25 = [d for d in bm25 if d not in positives][:settings.bm25_negatives]
    pooled = _pool_candidates(positives, pool) if pool is not None else None
    q = None
    if LABELERS[labeler].teacher is not None:
        start = time.perf_counter()
        q = teacher.query(text)
        timer.add("scoring", start)  # the query's encoding is part of the teacher's scoring cost
    return LABELERS[labeler].label(teacher, q, qid, positives, bm25, settings, timer, pooled, ranked)


def prepare_queries(labeler: str, teacher, texts: Sequence[str], ranked: Sequence[bool],
                    settings: LabelSettings) -> Dict[str, float]:
    """Let a teacher that can (``prepare``: the late-interaction one) encode, rank and expand several queries
    together before :func:`label_query` labels them one by one with the same results; returns the seconds it
    spent by stage ({} where nothing was prepared). ``ranked``: whether each query's labeler ranking is wanted
    (the expanded query's full search is made only for those, or for all with expanded negatives)."""
    prepare = getattr(teacher, "prepare", None)
    if prepare is None or LABELERS[labeler].teacher != LI_TEACHER or not texts:
        return {}
    expands = LABELERS[labeler].expands
    expanded = [expands and (r or settings.negatives_from == "expanded") for r in ranked]
    return prepare(texts, settings.teacher_depth, _fb_docs(teacher, settings) if expands else None, expanded)


def _fb_docs(teacher, settings: LabelSettings) -> int:
    return settings.rocchio.fb_docs if getattr(teacher, "kind", "") == "dense" else settings.prf.fb_docs
