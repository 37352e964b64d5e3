"""The labels file written by ``python -m pyserini_ckd.label`` and read by the trainer.

JSONL, one line per query of the split that has a positive, in qrels order::

    {"qid": "1",
     "positives": ["31715818"],
     "candidates": [{"docid": "31715818", "score": -21.7, "sources": ["positive", "teacher"]},
                    {"docid": "4983", "score": -25.1, "sources": ["bm25"]}, ...],
     "expansion": [{"token": "cortical", "token_id": 17236, "weight": 5.12}, ...]}

Invariants:
- ``score`` is the labeler's raw score (for teachers: MaxSim, inner product or logit, before any
  temperature, softmax or the raising of positives that training applies); for ``hard`` and
  ``uniform`` it is the target probability itself;
- every positive is a candidate (source ``positive``); a document appears once, its ``sources``
  listing every way it got there (``positive``, ``bm25``, ``teacher``);
- ``expansion`` is empty for labelers without pseudo-relevance feedback.

Beside it, ``LABELS.meta.json``: labeler, teacher, every setting, seconds of each stage, teacher cost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Union

from ..atomic import atomic_output


@dataclass
class LabelRecord:
    qid: str
    positives: List[str]
    candidates: List[Dict] = field(default_factory=list)
    expansion: List[Dict] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps({"qid": self.qid, "positives": self.positives, "candidates": self.candidates,
                           "expansion": self.expansion})


def merge_candidates(groups: Iterable[tuple]) -> Dict[str, List[str]]:
    """Ordered {docid: sources} from (source, docids) groups, each document once."""
    out: Dict[str, List[str]] = {}
    for source, docids in groups:
        for d in docids:
            out.setdefault(d, [])
            if source not in out[d]:
                out[d].append(source)
    return out


def write_labels(records: Iterable[LabelRecord], path: Union[str, Path]) -> int:
    n = 0
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8") as out:
        for r in records:
            out.write(r.to_json() + "\n")
            n += 1
    return n
