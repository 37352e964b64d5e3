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
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Tuple, Union

from ..atomic import atomic_output
from ..data.lines import iter_lines
from ..errors import InputError


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


def meta_path(labels: Union[str, Path]) -> Path:
    """``LABELS.meta.json``, beside a labels file: labeler, teacher, settings, seconds, teacher cost."""
    return Path(str(labels) + ".meta.json")


def write_labels(records: Iterable[LabelRecord], path: Union[str, Path]) -> int:
    return write_label_lines((r.to_json() for r in records), path)


def write_label_lines(lines: Iterable[str], path: Union[str, Path]) -> int:
    """Write labels lines (``LabelRecord.to_json()`` strings) atomically; returns their number."""
    n = 0
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8") as out:
        for line in lines:
            out.write(line + "\n")
            n += 1
    return n


def iter_labels(path: Union[str, Path]) -> Iterator[Tuple[int, dict]]:
    """(line number, record) for each line of a labels file: ids as strings, scores as finite floats.

    Every reader of labels files goes through here (the trainer, the audit, the exports), so a malformed
    line or a score that is not a finite number stops with the file and line wherever it is read."""
    for number, line in iter_lines(path):
        try:
            record = json.loads(line)
            record["qid"] = str(record["qid"])
            record["positives"] = [str(d) for d in record["positives"]]
            for c in record["candidates"]:
                c["docid"], c["score"] = str(c["docid"]), float(c["score"])
        except json.JSONDecodeError as exc:
            raise InputError(path, number, f"malformed JSON: {exc.msg}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(path, number, f"not a labels record (missing or bad {exc})") from None
        bad = next((c for c in record["candidates"] if not math.isfinite(c["score"])), None)
        if bad is not None:
            raise InputError(path, number, f"score {bad['score']} of document {bad['docid']!r} is not finite")
        yield number, record


def read_labels(path: Union[str, Path]) -> List[dict]:
    """Every record of a labels file (see :func:`iter_labels`); an empty file is an error."""
    records = [record for _, record in iter_labels(path)]
    if not records:
        raise InputError(path, None, "no labels")
    return records
