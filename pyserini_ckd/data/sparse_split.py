"""The sparse-label protocol: the paper's regime (one labelled positive per training query, many relevant)
made from any collection judged in depth.

Queries with at least one relevant passage are cut into ``k`` folds by a hash of the query id:
fold(q) = sha256("fold:" + q) mod k. For fold f, a BEIR folder ``fold-f`` holds

- ``qrels/train.tsv``: every query outside fold f with **one** labelled positive, a seeded draw among its
  relevant passages (rel > 0): the sparse labels a model trains on;
- ``qrels/train-hidden.tsv``: the same queries' other relevant passages, the **hidden positives** that
  label recovery is measured on (``inspect_labels --stats --hidden``), never read by training;
- ``qrels/train-full.tsv``: both together (all judgments of the training queries);
- ``qrels/test.tsv``: the queries of fold f with all their judgments.

Corpus and queries are linked, not copied, so every command reads a fold as any BEIR folder.
"""

from __future__ import annotations

import hashlib
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Union

from ..atomic import atomic_output
from ..errors import ConfigError
from .qrels import beir_qrels_text
from .records import Qrels


def fold_of(qid: str, folds: int) -> int:
    return int(hashlib.sha256(f"fold:{qid}".encode()).hexdigest(), 16) % folds


def labelled_positive(qid: str, relevant: List[str], seed: int) -> str:
    """The one positive a training query keeps: a draw seeded by (seed, qid), independent of file order."""
    return random.Random(f"positive:{seed}:{qid}").choice(sorted(relevant))


@dataclass
class Fold:
    train: Qrels
    hidden: Qrels
    test: Qrels


def sparse_folds(qrels: Qrels, folds: int, seed: int = 0) -> List[Fold]:
    """The ``folds`` folds of the protocol over the judged queries of ``qrels`` (those with a relevant passage)."""
    if folds < 2:
        raise ConfigError(f"folds must be at least 2, got {folds}")
    judged = {q: docs for q, docs in qrels.items() if any(r > 0 for r in docs.values())}
    out = []
    for f in range(folds):
        train: Qrels = {}
        hidden: Qrels = {}
        test: Qrels = {}
        for qid, docs in sorted(judged.items()):
            if fold_of(qid, folds) == f:
                test[qid] = dict(docs)
                continue
            relevant = [d for d, r in docs.items() if r > 0]
            keep = labelled_positive(qid, relevant, seed)
            train[qid] = {keep: docs[keep]}
            rest = {d: docs[d] for d in relevant if d != keep}
            if rest:
                hidden[qid] = rest
        out.append(Fold(train, hidden, test))
    return out


def write_sparse_folds(dataset, output: Union[str, Path], folds: int, seed: int = 0, split: str = "test") -> Dict[int, Path]:
    """Write ``OUTPUT/fold-f`` for every fold of ``dataset``'s ``split`` judgments; returns {f: folder}."""
    output = Path(output)
    paths = {}
    for f, fold in enumerate(sparse_folds(dataset.qrels(split), folds, seed)):
        with atomic_output(output / f"fold-{f}", directory=True) as tmp:
            for name in ("corpus.jsonl", "queries.jsonl"):
                os.symlink(Path(dataset.path / name).resolve(), tmp / name)
            (tmp / "qrels").mkdir()
            full = {q: {**fold.train[q], **fold.hidden.get(q, {})} for q in fold.train}
            for name, qrels in (("train", fold.train), ("train-hidden", fold.hidden), ("train-full", full), ("test", fold.test)):
                (tmp / "qrels" / f"{name}.tsv").write_text(beir_qrels_text(qrels))
        paths[f] = output / f"fold-{f}"
    return paths
