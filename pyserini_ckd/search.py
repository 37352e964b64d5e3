"""``python -m pyserini_ckd.search``: BM25 runs over a split's judged queries (or a topics file), to TREC."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Dict, Optional, Sequence

from .cli import non_negative_float, positive_int, run_cli
from .data.datasets import resolve_dataset
from .data.records import Query
from .data.runs import write_run
from .data.topics import read_queries
from .errors import ConfigError
from .lucene.search import BM25Config, bm25_search

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split(":", 1)[1].strip())
    q = p.add_argument_group("queries")
    q.add_argument("--dataset", help="dataset folder or name; queries are the split's judged queries")
    q.add_argument("--split", default="test")
    q.add_argument("--topics", type=Path, help="a topics file (TSV 'qid<TAB>text' or BEIR queries.jsonl) instead")
    s = p.add_argument_group("bm25")
    s.add_argument("--bm25", type=Path, metavar="INDEX", help="Lucene index (from pyserini_ckd.index)")
    s.add_argument("--k1", type=non_negative_float, default=0.9)
    s.add_argument("--b", type=non_negative_float, default=0.4)
    o = p.add_argument_group("output")
    o.add_argument("--output", type=Path, required=True, help="TREC run file to write")
    o.add_argument("--hits", type=positive_int, default=1000)
    o.add_argument("--threads", type=positive_int, default=1)
    o.add_argument("--tag", default=None, help="run tag (default: the system's name)")
    return p


def load_topics(args: argparse.Namespace) -> Dict[str, Query]:
    if args.topics:
        return read_queries(args.topics)
    if not args.dataset:
        raise ConfigError("give --dataset (with --split) or --topics")
    return resolve_dataset(args.dataset).split_queries(args.split)


def _run(args: argparse.Namespace) -> None:
    if not args.bm25:
        raise ConfigError("give --bm25 INDEX")
    config = BM25Config(hits=args.hits, k1=args.k1, b=args.b, threads=args.threads)
    queries = load_topics(args)
    run = bm25_search(args.bm25, queries, config)
    write_run(run, args.output, tag=args.tag or "bm25")
    logger.info("wrote %d queries to %s", len(run), args.output)


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_cli("pyserini_ckd.search", build_parser, _run, argv)


if __name__ == "__main__":
    main()
