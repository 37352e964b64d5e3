"""BM25 search with Pyserini's ``LuceneSearcher`` (Anserini's BM25, ties broken by docid)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Mapping

from tqdm import tqdm

from ..data.records import Query, Run, ScoredDoc
from ..errors import ConfigError, InputError, first_line, require_positive
from ..java import ensure_pyserini_ready

logger = logging.getLogger(__name__)


@dataclass
class BM25Config:
    """BM25 settings; the defaults are Pyserini's for BEIR (k1 0.9, b 0.4)."""

    hits: int = 1000
    k1: float = 0.9
    b: float = 0.4
    threads: int = 1
    batch_size: int = 64

    def __post_init__(self) -> None:
        require_positive(self, "hits", "threads", "batch_size", dashed=False)
        if self.k1 < 0 or not 0 <= self.b <= 1:
            raise ConfigError(f"k1 must be >= 0 and b in [0, 1], got k1={self.k1}, b={self.b}")


def check_lucene_index(index: Path) -> None:
    """Fail with one line unless ``index`` looks like a Lucene index (not, say, a Faiss one)."""
    index = Path(index)
    if not index.is_dir():
        raise InputError(index, None, "no such index folder")
    if not any(index.glob("segments_*")):
        hint = " (it holds a Faiss index: use --dense)" if (index / "index").is_file() else ""
        raise InputError(index, None, f"not a Lucene index{hint}")


def open_searcher(index: Path, config: BM25Config):
    check_lucene_index(index)
    ensure_pyserini_ready()
    from pyserini.search.lucene import LuceneSearcher

    try:
        searcher = LuceneSearcher(str(index))
    except Exception as exc:  # a corrupt or truncated index surfaces as a Java exception through pyjnius
        raise InputError(index, None, f"unreadable Lucene index ({first_line(exc)})") from None
    searcher.set_bm25(config.k1, config.b)
    return searcher


def bm25_search(index: Path, queries: Mapping[str, Query], config: BM25Config) -> Run:
    """Search every query; returns the run in the queries' order."""
    return search_with(open_searcher(index, config), queries, config)


def search_with(searcher, queries: Mapping[str, Query], config: BM25Config) -> Run:
    """Search every query with an open ``LuceneSearcher``; the run keeps the queries' order."""
    qids = list(queries)
    results: Dict[str, list] = {}
    with tqdm(total=len(qids), unit="query", desc="bm25 search") as bar:
        for start in range(0, len(qids), config.batch_size):
            chunk = qids[start:start + config.batch_size]
            hits = searcher.batch_search([queries[q].text for q in chunk], chunk, k=config.hits, threads=config.threads)
            for qid in chunk:
                results[qid] = [ScoredDoc(h.docid, float(h.score)) for h in hits.get(qid, [])]
            bar.update(len(chunk))
    return results
