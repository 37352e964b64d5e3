"""``python -m pyserini_ckd.negatives``: BM25 hard negatives of a split's queries (format: :mod:`pyserini_ckd.lucene.negatives`).

The options are the fields of :class:`pyserini_ckd.lucene.job.NegativesJob`."""

from __future__ import annotations

import argparse
from typing import Optional, Sequence

from .cli import run_cli
from .jobs import add_arguments, from_args
from .lucene.job import NegativesJob, run_negatives


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="BM25 hard negatives: top-k BM25 documents minus the labelled positives.")
    add_arguments(p, NegativesJob)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_cli("pyserini_ckd.negatives", build_parser, lambda args: run_negatives(from_args(NegativesJob, args)), argv)


if __name__ == "__main__":
    main()
