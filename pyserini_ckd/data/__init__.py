"""Reading and writing retrieval data: BEIR and Pyserini corpora, topics, qrels and TREC runs."""

from .records import Document, Query, ScoredDoc, Qrels, Run
from .corpus import read_corpus, iter_corpus
from .topics import read_queries
from .qrels import read_qrels
from .runs import read_run, write_run
from .datasets import Dataset, resolve_dataset, load_qrels_spec

__all__ = [
    "Document", "Query", "ScoredDoc", "Qrels", "Run",
    "read_corpus", "iter_corpus", "read_queries", "read_qrels", "read_run", "write_run",
    "Dataset", "resolve_dataset", "load_qrels_spec",
]
