"""Qrels readers: BEIR TSV (``query-id corpus-id score`` with its header) and TREC qrels (4 columns);
:func:`beir_qrels_text`, the BEIR TSV every writer here produces.

The kind is decided by the column count of the first data line; every line after it must match.
"""

from __future__ import annotations

from pathlib import Path
from typing import Collection, Optional, Union

from ..errors import InputError
from .lines import iter_lines
from .records import Qrels

_BEIR_HEADER = ("query-id", "corpus-id", "score")


def beir_qrels_text(qrels: Qrels) -> str:
    """``qrels`` as a BEIR qrels TSV (header, then one ``qid<TAB>docid<TAB>relevance`` line a judgment)."""
    return "\t".join(_BEIR_HEADER) + "\n" + "".join(f"{q}\t{d}\t{r}\n" for q, docs in qrels.items() for d, r in docs.items())


def read_qrels(
    path: Union[str, Path],
    known_queries: Optional[Collection[str]] = None,
    known_docs: Optional[Collection[str]] = None,
) -> Qrels:
    """Read ``{qid: {docid: relevance}}``; optionally check every id against known queries and docs."""
    path = Path(path)
    qrels: Qrels = {}
    columns = None
    for number, line in iter_lines(path):
        parts = line.split()
        if columns is None and tuple(p.lower() for p in parts) == _BEIR_HEADER:
            continue
        if columns is None:
            columns = len(parts)
            if columns not in (3, 4):
                raise InputError(path, number, f"expected 3 columns (BEIR) or 4 (TREC), found {columns}")
        if len(parts) != columns:
            raise InputError(path, number, f"expected {columns} columns, found {len(parts)}")
        qid, docid, rel = (parts[0], parts[1], parts[2]) if columns == 3 else (parts[0], parts[2], parts[3])
        try:
            relevance = int(float(rel))
        except ValueError:
            raise InputError(path, number, f"relevance {rel!r} is not a number") from None
        if known_queries is not None and qid not in known_queries:
            raise InputError(path, number, f"unknown query id {qid!r}")
        if known_docs is not None and docid not in known_docs:
            raise InputError(path, number, f"unknown document id {docid!r}")
        qrels.setdefault(qid, {})[docid] = relevance
    if not qrels:
        raise InputError(path, None, "no judgements")
    return qrels
