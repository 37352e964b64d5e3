"""Training examples and batches.

A :class:`TrainingQuery` holds a query, its labelled positives and its other candidates, each with the
teacher's raw score when it comes from a labels file. Two sources:

- a BM25 negatives file (:mod:`pyserini_ckd.lucene.negatives`): hard labels, no scores;
- a labels file from ``python -m pyserini_ckd.label`` (JSONL, one line per query):
  ``{"qid", "positives": [docid], "candidates": [{"docid", "score", "sources"}], "expansion": [...]}``.

Sampling is stateless: the query order of epoch e is a permutation seeded by (seed, e), and the group
of query q in epoch e (its positive, cycled over epochs, then ``group_size - 1`` candidates from its top
``negative_depth``) is drawn from a generator seeded by (seed, e, q). A run resumed at step k therefore
sees exactly the batches the uninterrupted run sees.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Union

import torch

from ..data.records import Query
from ..errors import InputError


@dataclass
class TrainingQuery:
    qid: str
    text: str
    positives: List[str]
    candidates: List[str]  # non-positive candidates: BM25's best first, or a labels file's order (its pool's)
    scores: Dict[str, float] = field(default_factory=dict)  # teacher's raw scores (positives included)


def from_negatives(path: Union[str, Path], queries: Mapping[str, Query], known_docs: Mapping[str, object]) -> List[TrainingQuery]:
    from ..lucene.negatives import read_negatives

    out = []
    for qid, entry in read_negatives(path, known_docs).items():
        if qid not in queries:
            raise InputError(path, None, f"unknown query id {qid!r}")
        out.append(TrainingQuery(qid, queries[qid].text, entry.positives, [n.docid for n in entry.negatives]))
    return out


def from_labels(path: Union[str, Path], queries: Mapping[str, Query], known_docs: Mapping[str, object]) -> List[TrainingQuery]:
    """Read a labels file, checking every query and document id."""
    from ..labeling.labels import iter_labels

    out = []
    for number, record in iter_labels(path):
        qid, positives = record["qid"], record["positives"]
        candidates = [(c["docid"], c["score"]) for c in record["candidates"]]
        if qid not in queries:
            raise InputError(path, number, f"unknown query id {qid!r}")
        for docid in positives + [d for d, _ in candidates]:
            if docid not in known_docs:
                raise InputError(path, number, f"unknown document id {docid!r}")
        if not positives:
            raise InputError(path, number, f"query {qid!r} has no positive")
        pos = set(positives)
        scores = dict(candidates)
        missing = [d for d in positives if d not in scores]
        if missing:
            raise InputError(path, number, f"positive {missing[0]!r} has no teacher score among the candidates")
        # the file's order, not the teacher's: with --pool every labeler's file lists the same candidates in the same
        # order, so hard, uniform and kd students draw the same negatives (the labels differ, not the groups)
        others = [d for d, _ in candidates if d not in pos]
        out.append(TrainingQuery(qid, queries[qid].text, positives, others, scores))
    if not out:
        raise InputError(path, None, "no labels")
    return out


def _rng(*parts: object) -> random.Random:
    return random.Random(zlib.crc32(":".join(map(str, parts)).encode()))


def epoch_order(n: int, seed: int, epoch: int) -> List[int]:
    order = list(range(n))
    _rng("order", seed, epoch).shuffle(order)
    return order


def sample_group(query: TrainingQuery, group_size: int, negative_depth: int, seed: int, epoch: int) -> List[str]:
    """[positive, negative_1, ..., negative_{G-1}]; with too few candidates some repeat (masked later)."""
    rng = _rng("group", seed, epoch, query.qid)
    positive = query.positives[epoch % len(query.positives)]
    pool = query.candidates[:negative_depth]
    need = group_size - 1
    if not pool:
        return [positive] * group_size
    negatives = rng.sample(pool, need) if len(pool) >= need else [rng.choice(pool) for _ in range(need)]
    return [positive] + negatives


@dataclass
class Batch:
    """One step's queries and passages with everything the losses need (see :mod:`.losses`)."""

    queries: List[TrainingQuery]
    docids: List[str]  # Q * G, row i's group at [i*G, (i+1)*G), its positive first
    group_size: int
    mask: torch.Tensor  # (Q, P) bool: columns that count for the row
    own: torch.Tensor  # (Q, P) bool: the row's own (unmasked) candidates
    positive_columns: torch.Tensor  # (Q,)
    teacher: torch.Tensor  # (Q, P) teacher scores on own columns, 0 elsewhere

    @property
    def num_queries(self) -> int:
        return len(self.queries)


def build_batch(queries: Sequence[TrainingQuery], groups: Sequence[List[str]]) -> Batch:
    """Lay out the passages and mask, for each row, duplicates of a document and its other positives."""
    g = len(groups[0])
    docids = [d for group in groups for d in group]
    q, p = len(queries), len(docids)
    mask = torch.ones(q, p, dtype=torch.bool)
    own = torch.zeros(q, p, dtype=torch.bool)
    teacher = torch.zeros(q, p)
    positive_columns = torch.tensor([i * g for i in range(q)], dtype=torch.long)
    for i, query in enumerate(queries):
        kept: Dict[str, int] = {}
        own_range = range(i * g, (i + 1) * g)
        for j in list(own_range) + [j for j in range(p) if j not in own_range]:
            d = docids[j]
            if d in kept or (d in query.positives and j != i * g):
                mask[i, j] = False
                continue
            kept[d] = j
            if j in own_range:
                own[i, j] = True
                teacher[i, j] = query.scores.get(d, 0.0)
    return Batch(list(queries), docids, g, mask, own, positive_columns, teacher)
