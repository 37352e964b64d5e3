"""Typed records for documents, queries, judgements and runs.

Invariants:
- ids are non-empty strings, compared as strings (``"01"`` and ``"1"`` are different ids);
- a :data:`Run` maps a query id to its hits in rank order (rank 1 first), scores non-increasing;
- :data:`Qrels` maps a query id to ``{docid: relevance}`` with integer relevance (0 = judged
  non-relevant; BEIR's binary files use 1 for relevant).
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple


class Document(NamedTuple):
    """A passage. ``contents`` is what BM25 indexes: title and text joined with a space."""

    docid: str
    title: str
    text: str

    @property
    def contents(self) -> str:
        """Title and text joined by a space (either may be empty): what BM25 indexes and every model reads."""
        return " ".join(part for part in (self.title, self.text) if part)


class Query(NamedTuple):
    qid: str
    text: str


class ScoredDoc(NamedTuple):
    docid: str
    score: float


Qrels = Dict[str, Dict[str, int]]
Run = Dict[str, List[ScoredDoc]]
