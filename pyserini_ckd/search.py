"""``python -m pyserini_ckd.search``: BM25, dense or hybrid runs over a split's judged queries (or a topics file), to TREC.

- ``--bm25 INDEX``: Pyserini's LuceneSearcher (BM25, k1 0.9, b 0.4 by default);
- ``--dense INDEX [--encoder MODEL]``: Pyserini's FaissSearcher with pyserini_ckd's query encoder (the
  encoder defaults to the model recorded in the index); index and encoder are checked first;
- both: fused with ``--fusion linear`` (Pyserini's HybridSearcher formula, ``--alpha``,
  ``--normalization``) or ``--fusion rrf`` (``--rrf-k``); ``--tune-on SPLIT`` picks alpha (or k) on that
  split's judged queries, never on a test split.

The options are the fields of :class:`pyserini_ckd.retrieval.search_job.SearchJob`.
"""

from __future__ import annotations

import argparse
from typing import Optional, Sequence

from .cli import run_cli
from .jobs import add_arguments, from_args
from .retrieval.search_job import SearchJob, run_search


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split(":", 1)[1].strip(), formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p, SearchJob)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_cli("pyserini_ckd.search", build_parser, lambda args: run_search(from_args(SearchJob, args)), argv)


if __name__ == "__main__":
    main()
