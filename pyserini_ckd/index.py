"""``python -m pyserini_ckd.index --dataset D --index OUT``: a BM25 (Lucene) index through Pyserini."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Optional, Sequence

from .cli import positive_int, run_cli
from .data.corpus import iter_corpus
from .data.datasets import resolve_dataset
from .lucene.index import IndexConfig, build_bm25_index


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split(":", 1)[1].strip())
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--dataset", help="dataset folder or name under $PYSERINI_CKD_DATA (or a public BEIR name)")
    src.add_argument("--corpus", type=Path, help="a corpus JSONL file (BEIR or Pyserini) instead of a dataset")
    p.add_argument("--index", type=Path, required=True, help="output folder of the Lucene index")
    p.add_argument("--threads", type=positive_int, default=1)
    return p


def _run(args: argparse.Namespace) -> None:
    path = Path(args.corpus) if args.corpus else resolve_dataset(args.dataset).corpus_path
    build_bm25_index(iter_corpus(path), IndexConfig(index=args.index, threads=args.threads))


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_cli("pyserini_ckd.index", build_parser, _run, argv)


if __name__ == "__main__":
    main()
