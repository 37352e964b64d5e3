"""The BM25 jobs: a Lucene index of a corpus (``python -m pyserini_ckd.index``) and BM25 hard negatives of a
split's queries (``python -m pyserini_ckd.negatives``: BM25's top ``depth`` minus the labelled positives)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import ConfigError
from ..jobs import non_negative_float, positive_int, setting

logger = logging.getLogger(__name__)


@dataclass
class IndexJob:
    """A BM25 (Lucene) index of a dataset's corpus, or of a corpus file, through Pyserini."""

    index: Path = setting(type=Path, help="output folder of the Lucene index")
    dataset: Optional[str] = setting(None, help="dataset folder or name under $PYSERINI_CKD_DATA (or a public BEIR name)")
    corpus: Optional[Path] = setting(None, type=Path, help="a corpus JSONL file (BEIR or Pyserini) instead of a dataset")
    threads: int = setting(1, type=positive_int)

    def __post_init__(self) -> None:
        if (self.dataset is None) == (self.corpus is None):
            raise ConfigError("give one of --dataset or --corpus")


def run_index(job: IndexJob) -> None:
    from ..data.corpus import iter_corpus
    from ..data.datasets import resolve_dataset
    from .index import IndexConfig, build_bm25_index

    path = Path(job.corpus) if job.corpus else resolve_dataset(job.dataset).corpus_path
    build_bm25_index(iter_corpus(path), IndexConfig(index=job.index, threads=job.threads))


@dataclass
class NegativesJob:
    """BM25 hard negatives: each query's top ``depth`` BM25 documents minus its labelled positives."""

    dataset: str = setting(help="dataset folder or name")
    bm25: Path = setting(type=Path, metavar="INDEX", help="the Lucene index (pyserini_ckd.index)")
    output: Path = setting(type=Path, help="negatives JSONL to write")
    split: str = setting("train")
    depth: int = setting(100, type=positive_int, help="BM25 depth to take negatives from")
    k1: float = setting(0.9, type=non_negative_float)
    b: float = setting(0.4, type=non_negative_float)
    threads: int = setting(1, type=positive_int)


def run_negatives(job: NegativesJob) -> None:
    from ..atomic import prepare_parent
    from ..data.datasets import resolve_dataset
    from .negatives import mine_negatives, write_negatives
    from .search import BM25Config, bm25_search

    prepare_parent(job.output)
    dataset = resolve_dataset(job.dataset)
    qrels = dataset.qrels(job.split)
    queries = dataset.split_queries(job.split)
    run = bm25_search(job.bm25, queries, BM25Config(hits=job.depth, k1=job.k1, b=job.b, threads=job.threads))
    entries = mine_negatives(run, qrels, job.depth)
    write_negatives(entries, job.output)
    logger.info("wrote negatives of %d queries to %s", len(entries), job.output)
