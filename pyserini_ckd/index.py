"""``python -m pyserini_ckd.index --dataset D --index OUT``: a BM25 (Lucene) index through Pyserini.

The options are the fields of :class:`pyserini_ckd.lucene.job.IndexJob`."""

from __future__ import annotations

import argparse
from typing import Optional, Sequence

from .cli import run_cli
from .jobs import add_arguments, from_args
from .lucene.job import IndexJob, run_index


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split(":", 1)[1].strip())
    add_arguments(p, IndexJob)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_cli("pyserini_ckd.index", build_parser, lambda args: run_index(from_args(IndexJob, args)), argv)


if __name__ == "__main__":
    main()
