"""BM25 hard negatives: for each query, its top-k BM25 documents minus its labelled positives.

File format (JSONL, one line per query with at least one positive, in qrels order)::

    {"qid": "1", "positives": ["31715818"],
     "negatives": [{"docid": "4983", "score": 12.345678, "rank": 1}, ...]}

Invariants: ``positives`` are the qrels' documents with relevance > 0; ``negatives`` are in BM25 rank
order, never contain a positive (nor a judged non-relevant document's absence: judged non-relevant
documents *are* kept as negatives), and ``rank`` is the document's rank in the full BM25 list, so gaps
show where positives were removed. The label generator and the trainer read this file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Union

from ..atomic import atomic_output
from ..data.lines import iter_lines
from ..data.records import Qrels, Query, Run
from ..errors import ConfigError, InputError


@dataclass
class Negative:
    docid: str
    score: float
    rank: int


@dataclass
class NegativesEntry:
    qid: str
    positives: List[str]
    negatives: List[Negative]


def mine_negatives(run: Run, qrels: Qrels, depth: int) -> List[NegativesEntry]:
    """Cut ``run`` to ``depth`` per query and drop the positives; queries without a positive are skipped."""
    if depth <= 0:
        raise ConfigError(f"depth must be positive, got {depth}")
    entries = []
    for qid, judged in qrels.items():
        positives = [d for d, rel in judged.items() if rel > 0]
        if not positives:
            continue
        pos = set(positives)
        negatives = [Negative(h.docid, h.score, rank)
                     for rank, h in enumerate(run.get(qid, [])[:depth], 1) if h.docid not in pos]
        entries.append(NegativesEntry(qid, positives, negatives))
    return entries


def write_negatives(entries: List[NegativesEntry], path: Union[str, Path]) -> Path:
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8") as out:
        for e in entries:
            out.write(json.dumps({"qid": e.qid, "positives": e.positives,
                                  "negatives": [{"docid": n.docid, "score": round(n.score, 6), "rank": n.rank}
                                                for n in e.negatives]}) + "\n")
    return Path(path)


def read_negatives(path: Union[str, Path], known_docs: Mapping[str, object] = None) -> Dict[str, NegativesEntry]:
    """Read a negatives file, checking its schema and, optionally, that every docid is in the corpus."""
    entries: Dict[str, NegativesEntry] = {}
    for number, line in iter_lines(path):
        try:
            obj = json.loads(line)
            entry = NegativesEntry(str(obj["qid"]), [str(d) for d in obj["positives"]],
                                   [Negative(str(n["docid"]), float(n["score"]), int(n["rank"])) for n in obj["negatives"]])
        except json.JSONDecodeError as exc:
            raise InputError(path, number, f"malformed JSON: {exc.msg}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(path, number, f"not a negatives record ({exc!r})") from None
        if known_docs is not None:
            for docid in entry.positives + [n.docid for n in entry.negatives]:
                if docid not in known_docs:
                    raise InputError(path, number, f"unknown document id {docid!r}")
        entries[entry.qid] = entry
    return entries
