"""Query readers: BEIR ``queries.jsonl`` (``_id``, ``text``) and Pyserini TSV topics (``qid<TAB>text``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Mapping, Union

from ..atomic import atomic_output
from ..errors import InputError
from .lines import iter_lines
from .records import Query


def read_queries(path: Union[str, Path]) -> Dict[str, Query]:
    """Read ``{qid: Query}``. JSONL when a line starts with ``{``, else TSV. Empty text is an error."""
    path = Path(path)
    queries: Dict[str, Query] = {}
    for number, line in iter_lines(path):
        if line.lstrip().startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(path, number, f"malformed JSON: {exc.msg} (column {exc.colno})") from None
            qid = obj.get("_id", obj.get("id")) if isinstance(obj, dict) else None
            if qid is None or str(qid).strip() == "":
                raise InputError(path, number, "missing field '_id'")
            if "text" not in obj:
                raise InputError(path, number, "missing field 'text'")
            text = obj["text"]
            if not isinstance(text, str):
                raise InputError(path, number, "field 'text' must be a string")
        else:
            parts = line.split("\t")
            if len(parts) != 2:
                raise InputError(path, number, f"expected 'qid<TAB>text', found {len(parts)} tab-separated column(s)")
            qid, text = parts
        qid = str(qid).strip()
        if not text.strip():
            raise InputError(path, number, f"query {qid!r} has empty text")
        if qid in queries:
            raise InputError(path, number, f"duplicate query id {qid!r}")
        queries[qid] = Query(qid, text.strip())
    if not queries:
        raise InputError(path, None, "no queries")
    return queries


def write_topics(queries: Mapping[str, Query], path: Union[str, Path]) -> int:
    """Write Pyserini TSV topics (``qid<TAB>text``; tabs and line breaks in a text become spaces)."""
    with atomic_output(Path(path)) as tmp, open(tmp, "w", encoding="utf-8") as out:
        for qid, query in queries.items():
            out.write(f"{qid}\t{' '.join(query.text.split())}\n")
    return len(queries)
