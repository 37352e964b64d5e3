"""``python -m pyserini_ckd.topics``: a split's judged queries as Pyserini TSV topics (``qid<TAB>text``).

Pyserini's own searchers read TSV topics, not BEIR's ``queries.jsonl``::

    python -m pyserini_ckd.topics --dataset scifact --split test --output work/scifact/topics.test.tsv
    python -m pyserini_ckd.pyserini_run pyserini.search.faiss --index INDEX --topics work/scifact/topics.test.tsv ...

The path must not contain ``cacm``: Pyserini then reads the file as CACM's SMART topics (the command refuses
such a path).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Optional, Sequence

from .atomic import prepare_parent
from .cli import run_cli
from .data.datasets import resolve_dataset
from .data.topics import write_topics
from .errors import ConfigError

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split(":", 1)[1].strip(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", required=True, help="dataset folder or name")
    p.add_argument("--split", default="test", help="the qrels split whose judged queries to write")
    p.add_argument("--output", type=Path, required=True, help="TSV topics file to write")
    return p


def _run(args: argparse.Namespace) -> None:
    if "cacm" in str(args.output).lower() or "cacm" in str(args.output.resolve()).lower():
        raise ConfigError(f"{args.output}: Pyserini reads a topics path containing 'cacm' as CACM's SMART format; "
                          "write the topics to a path without 'cacm'")
    prepare_parent(args.output)
    n = write_topics(resolve_dataset(args.dataset).split_queries(args.split), args.output)
    logger.info("wrote %d topics to %s", n, args.output)


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_cli("pyserini_ckd.topics", build_parser, _run, argv)


if __name__ == "__main__":
    main()
