"""``python -m pyserini_ckd.negatives``: BM25 hard negatives of a split's queries (format: :mod:`pyserini_ckd.lucene.negatives`)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Optional, Sequence

from .atomic import prepare_parent
from .cli import non_negative_float, positive_int, run_cli
from .data.datasets import resolve_dataset
from .lucene.negatives import mine_negatives, write_negatives
from .lucene.search import BM25Config, bm25_search

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="BM25 hard negatives: top-k BM25 documents minus the labelled positives.")
    p.add_argument("--dataset", required=True)
    p.add_argument("--split", default="train")
    p.add_argument("--bm25", type=Path, required=True, metavar="INDEX")
    p.add_argument("--output", type=Path, required=True, help="negatives JSONL to write")
    p.add_argument("--depth", type=positive_int, default=100, help="BM25 depth to take negatives from")
    p.add_argument("--k1", type=non_negative_float, default=0.9)
    p.add_argument("--b", type=non_negative_float, default=0.4)
    p.add_argument("--threads", type=positive_int, default=1)
    return p


def _run(args: argparse.Namespace) -> None:
    prepare_parent(args.output)
    dataset = resolve_dataset(args.dataset)
    qrels = dataset.qrels(args.split)
    queries = dataset.split_queries(args.split)
    run = bm25_search(args.bm25, queries, BM25Config(hits=args.depth, k1=args.k1, b=args.b, threads=args.threads))
    entries = mine_negatives(run, qrels, args.depth)
    write_negatives(entries, args.output)
    logger.info("wrote negatives of %d queries to %s", len(entries), args.output)


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_cli("pyserini_ckd.negatives", build_parser, _run, argv)


if __name__ == "__main__":
    main()
