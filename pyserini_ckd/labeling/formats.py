"""Teacher scores in the formats of the peers: import them as a labels file, export ours to them.

A labels file (:mod:`pyserini_ckd.labeling.labels`) holds, per training query, its positives and scored
candidates. Each format below maps one such record to its own rows and back; ids are those of the
BEIR dataset given with it, and texts are ``Document.contents`` (title and text joined by a space).

``tevatron``
    Tevatron's training JSONL, one line per query, every passage with the teacher's ``score``::

        {"query_id": "1", "query": "...", "positive_passages": [{"docid": "d1", "title": "...", "text": "...", "score": 3.2}],
         "negative_passages": [{"docid": "d7", "title": "...", "text": "...", "score": 1.5}, ...]}

``sentence-transformers``
    The output of ``sentence_transformers.util.mine_hard_negatives(..., output_format="n-tuple",
    output_scores=True)`` written as JSON lines: one line per (query, positive), texts instead of ids::

        {"query": "...", "positive": "...", "negative_1": "...", ..., "negative_n": "...", "scores": [s_pos, s_1, ..., s_n]}

    The first two columns are the anchor and the positive whatever their names (as in
    sentence-transformers); texts are mapped back to ids through the dataset's queries and corpus.

``pylate``
    PyLate's knowledge-distillation train set, one line per query::

        {"query_id": "1", "document_ids": ["d1", "d7", ...], "scores": [3.2, 1.5, ...]}

    PyLate does not mark positives: on import they come from the split's qrels. Export also writes
    ``OUT.queries.jsonl`` (``query_id``, ``text``) and ``OUT.documents.jsonl`` (``document_id``, ``text``),
    the two other datasets PyLate's ``KDProcessing`` reads.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Sequence, Union

from ..atomic import atomic_output
from ..data.lines import iter_lines
from ..errors import InputError
from .labels import LabelRecord, read_labels

POSITIVE, IMPORTED = "positive", "imported"


def _record(qid: str, positives: Sequence[str], scored: Iterable[tuple]) -> LabelRecord:
    candidates: List[Dict] = []
    seen = set()
    for docid, score in scored:
        if docid in seen:
            continue
        seen.add(docid)
        candidates.append({"docid": docid, "score": score, "sources": [POSITIVE if docid in positives else IMPORTED]})
    return LabelRecord(qid=qid, positives=list(positives), candidates=candidates)


def _score(value, path, number) -> float:
    try:
        score = float(value)
    except (TypeError, ValueError):
        raise InputError(path, number, f"score {value!r} is not a number") from None
    if not math.isfinite(score):
        raise InputError(path, number, f"score {value!r} is not finite")
    return score


def _json_lines(path: Path):
    for number, line in iter_lines(path):
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(path, number, f"malformed JSON: {exc.msg}") from None


def _split_candidates(record: Mapping) -> tuple:
    pos = set(record["positives"])
    scores = {c["docid"]: float(c["score"]) for c in record["candidates"]}
    negatives = [c["docid"] for c in record["candidates"] if c["docid"] not in pos]
    return [d for d in record["positives"] if d in scores], negatives, scores


# ---- tevatron ---------------------------------------------------------------------------------------
def export_tevatron(records: Sequence[Mapping], dataset, out: Path) -> None:
    corpus, queries = dataset.corpus, dataset.queries

    def passage(docid, score):
        doc = corpus[docid]
        return {"docid": docid, "title": doc.title, "text": doc.text, "score": score}

    with atomic_output(out) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for r in records:
            positives, negatives, scores = _split_candidates(r)
            f.write(json.dumps({"query_id": r["qid"], "query": queries[r["qid"]].text,
                                "positive_passages": [passage(d, scores[d]) for d in positives],
                                "negative_passages": [passage(d, scores[d]) for d in negatives]}) + "\n")


def import_tevatron(path: Path, dataset, split: str) -> List[LabelRecord]:
    out = []
    for number, obj in _json_lines(path):
        try:
            qid = str(obj["query_id"])
            pos = [(str(p["docid"]), _score(p.get("score"), path, number)) for p in obj["positive_passages"]]
            neg = [(str(p["docid"]), _score(p.get("score"), path, number)) for p in obj["negative_passages"]]
        except (KeyError, TypeError) as exc:
            raise InputError(path, number, f"not a Tevatron record with scored passages (missing or bad {exc})") from None
        out.append(_record(qid, [d for d, _ in pos], pos + neg))
    return out


# ---- sentence-transformers --------------------------------------------------------------------------
def export_sentence_transformers(records: Sequence[Mapping], dataset, out: Path) -> None:
    corpus, queries = dataset.corpus, dataset.queries
    with atomic_output(out) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for r in records:
            positives, negatives, scores = _split_candidates(r)
            for p in positives:
                row = {"query": queries[r["qid"]].text, "positive": corpus[p].contents}
                row.update({f"negative_{i}": corpus[d].contents for i, d in enumerate(negatives, 1)})
                row["scores"] = [scores[p]] + [scores[d] for d in negatives]
                f.write(json.dumps(row) + "\n")


def import_sentence_transformers(path: Path, dataset, split: str) -> List[LabelRecord]:
    by_query = {}
    for q in dataset.split_queries(split).values():
        by_query.setdefault(q.text, q.qid)
    by_text = {}
    for doc in dataset.corpus.values():
        by_text.setdefault(doc.contents, doc.docid)
        by_text.setdefault(doc.text, doc.docid)
    grouped: Dict[str, List] = {}
    for number, obj in _json_lines(path):
        keys = list(obj)
        negatives = sorted((k for k in keys if k.startswith("negative_")), key=lambda k: int(k.split("_")[1]))
        if len(keys) < 3 or "scores" not in obj or len(obj["scores"]) != 1 + len(negatives):
            raise InputError(path, number, "not a mine_hard_negatives n-tuple row with scores "
                                           "(anchor, positive, negative_1..n, scores with n + 1 values)")
        anchor, positive = keys[0], keys[1]
        if obj[anchor] not in by_query:
            raise InputError(path, number, f"the {anchor!r} text is not a query of split {split!r}")
        texts = [obj[positive]] + [obj[k] for k in negatives]
        missing = [t for t in texts if t not in by_text]
        if missing:
            raise InputError(path, number, f"a text is not a passage of the corpus: {missing[0][:60]!r}")
        ids = [by_text[t] for t in texts]
        scores = [_score(s, path, number) for s in obj["scores"]]
        entry = grouped.setdefault(by_query[obj[anchor]], [[], []])
        entry[0].append(ids[0])
        entry[1].extend(zip(ids, scores))
    out = []
    for qid, (positives, scored) in grouped.items():
        ordered = sorted(scored, key=lambda x: x[0] not in positives)  # positives first, stable
        out.append(_record(qid, list(dict.fromkeys(positives)), ordered))
    return out


# ---- pylate -------------------------------------------------------------------------------------------
def export_pylate(records: Sequence[Mapping], dataset, out: Path) -> None:
    corpus, queries = dataset.corpus, dataset.queries
    used = []
    with atomic_output(out) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps({"query_id": r["qid"], "document_ids": [c["docid"] for c in r["candidates"]],
                                "scores": [float(c["score"]) for c in r["candidates"]]}) + "\n")
            used.extend(c["docid"] for c in r["candidates"])
    with atomic_output(out.with_name(out.name + ".queries.jsonl")) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps({"query_id": r["qid"], "text": queries[r["qid"]].text}) + "\n")
    with atomic_output(out.with_name(out.name + ".documents.jsonl")) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for docid in dict.fromkeys(used):
            f.write(json.dumps({"document_id": docid, "text": corpus[docid].contents}) + "\n")


def import_pylate(path: Path, dataset, split: str) -> List[LabelRecord]:
    qrels = dataset.qrels(split)
    out = []
    for number, obj in _json_lines(path):
        try:
            qid, docids, scores = str(obj["query_id"]), [str(d) for d in obj["document_ids"]], obj["scores"]
        except (KeyError, TypeError) as exc:
            raise InputError(path, number, f"not a PyLate row (query_id, document_ids, scores; missing {exc})") from None
        if len(docids) != len(scores):
            raise InputError(path, number, f"{len(docids)} document ids but {len(scores)} scores")
        positives = [d for d, rel in qrels.get(qid, {}).items() if rel > 0 and d in docids]
        if not positives:
            raise InputError(path, number, f"query {qid!r} has no positive of split {split!r} among its documents")
        out.append(_record(qid, positives, [(d, _score(s, path, number)) for d, s in zip(docids, scores)]))
    return out


FORMATS: Dict[str, tuple] = {
    "tevatron": (import_tevatron, export_tevatron),
    "sentence-transformers": (import_sentence_transformers, export_sentence_transformers),
    "pylate": (import_pylate, export_pylate),
}


def import_labels(fmt: str, path: Union[str, Path], dataset, split: str) -> List[LabelRecord]:
    """Read teacher scores in format ``fmt`` as label records (ids checked against ``dataset``)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, None, "no such file")
    records = FORMATS[fmt][0](path, dataset, split)
    if not records:
        raise InputError(path, None, "no records")
    corpus, queries = dataset.corpus, dataset.queries
    for r in records:
        if r.qid not in queries:
            raise InputError(path, None, f"unknown query id {r.qid!r}")
        unknown = [c["docid"] for c in r.candidates if c["docid"] not in corpus]
        if unknown:
            raise InputError(path, None, f"unknown document id {unknown[0]!r} (query {r.qid!r})")
    return records


def export_labels(fmt: str, labels: Union[str, Path], dataset, out: Union[str, Path]) -> int:
    """Write the labels file ``labels`` in format ``fmt``; returns the number of queries."""
    records = read_labels(labels)
    FORMATS[fmt][1](records, dataset, Path(out))
    return len(records)


