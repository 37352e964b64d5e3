"""Model selection on held-out queries: the trainer scores the model on them every N steps and keeps the best.

The held-out queries are a dev slice no model trains on (normally the part whose relevant documents no
training query shares, :func:`pyserini_ckd.retrieval.fusion_tuning.unseen_slice`, the slice that rewards generalisation rather
than memorisation). Each has a fixed candidate list, the top ``depth`` of a first-stage run (BM25), and the
measure (nDCG@10) is computed on the model's re-ranking of that list:

    m(theta) = mean_q nDCG@10( sort_{d in C_q} s_theta(q, d) )

for the dense student s = q . p, a late-interaction teacher s = sum_i max_j q_i . d_j, a cross-encoder its
logit; a joint warm start (dense student and late-interaction head on one backbone) is judged as the student
every distilled model starts from, by its dense head. Re-ranking a fixed list costs |Q| x depth passage encodings per evaluation instead of the corpus, so
selection fits a CPU. The step with the highest m wins (the earliest on ties); step 0, the starting model, is a
candidate too, so a run that only hurts the held-out queries returns its start.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Union

import torch

from ..data.records import Run, ScoredDoc
from ..errors import ConfigError, InputError

logger = logging.getLogger(__name__)

MEASURE = "nDCG@10"


@dataclass
class SelectionSet:
    """Held-out queries, the candidates each is re-ranked over, and their judgments."""

    queries: Dict[str, str]
    candidates: Dict[str, List[str]]
    qrels: Dict[str, Dict[str, int]]

    def __len__(self) -> int:
        return len(self.queries)


def build_selection_set(qrels_path: Union[str, Path], run_path: Union[str, Path], queries: Mapping[str, object],
                        depth: int) -> SelectionSet:
    """The held-out queries of ``qrels_path`` with the top ``depth`` documents of ``run_path`` as candidates."""
    from ..data.qrels import read_qrels
    from ..data.runs import read_run

    qrels = {q: docs for q, docs in read_qrels(qrels_path).items() if any(r > 0 for r in docs.values())}
    if not qrels:
        raise InputError(qrels_path, None, "no judged queries to select on")
    unknown = [q for q in qrels if q not in queries]
    if unknown:
        raise InputError(qrels_path, None, f"unknown query id {unknown[0]!r}")
    return selection_set(qrels, read_run(run_path), queries, depth, run_path)


def selection_set(qrels: Mapping[str, Dict[str, int]], run: Run, queries: Mapping[str, object], depth: int,
                  run_path: Union[str, Path]) -> SelectionSet:
    """The queries of ``qrels`` with the top ``depth`` documents of ``run`` (read from ``run_path``) as candidates."""
    missing = [q for q in qrels if q not in run]
    if missing:
        raise InputError(run_path, None, f"held-out query {missing[0]!r} has no candidates in the run")
    return SelectionSet({q: queries[q].text for q in qrels}, {q: [h.docid for h in run[q][:depth]] for q in qrels}, dict(qrels))


@torch.inference_mode()
def rerank(model, selection: SelectionSet, passages: Mapping[str, str]) -> Run:
    """The model's re-ranking of each held-out query's candidates."""
    from ..dense.encoder import DenseEncoder
    from ..teacher.cross_encoder import CrossEncoder
    from ..teacher.joint import JointEncoder
    from ..teacher.late_interaction import LateInteractionEncoder

    run: Run = {}
    if isinstance(model, JointEncoder):
        model = model.dense
    if isinstance(model, DenseEncoder):
        docs = sorted({d for c in selection.candidates.values() for d in c})
        p = model.encode([passages[d] for d in docs], kind="passage")
        row = {d: i for i, d in enumerate(docs)}
        qids = list(selection.queries)
        q = model.encode([selection.queries[x] for x in qids], kind="query")
        for i, qid in enumerate(qids):
            cands = selection.candidates[qid]
            scores = p[[row[d] for d in cands]] @ q[i]
            run[qid] = [ScoredDoc(d, float(s)) for d, s in zip(cands, scores)]
    elif isinstance(model, LateInteractionEncoder):
        for qid, text in selection.queries.items():
            cands = selection.candidates[qid]
            scores = model.score([text], [passages[d] for d in cands])[0]
            run[qid] = [ScoredDoc(d, float(s)) for d, s in zip(cands, scores)]
    elif isinstance(model, CrossEncoder):
        for qid, text in selection.queries.items():
            cands = selection.candidates[qid]
            run[qid] = [ScoredDoc(d, float(s)) for d, s in zip(cands, model.score(text, [passages[d] for d in cands]))]
    else:
        raise ConfigError(f"model selection does not know how to score a {type(model).__name__}")
    return {q: sorted(hits, key=lambda h: -h.score) for q, hits in run.items()}


def evaluate(model, selection: SelectionSet, passages: Mapping[str, str]) -> float:
    """m(theta): mean nDCG@10 of the model's re-ranking over the held-out queries."""
    from ..metrics import evaluate_run

    was_training = model.training
    model.eval()
    try:
        run = rerank(model, selection, passages)
    finally:
        model.train(was_training)
    return evaluate_run(run, selection.qrels, [MEASURE], name="selection").aggregates[MEASURE]
