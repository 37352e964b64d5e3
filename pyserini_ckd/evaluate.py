"""``python -m pyserini_ckd.evaluate --qrels QRELS RUN [RUN ...]``: ir-measures table, t-tests against the first run.

The options are the fields of :class:`pyserini_ckd.metrics.job.EvaluateJob`."""

from __future__ import annotations

import argparse
from typing import Optional, Sequence

from .cli import run_cli
from .jobs import add_arguments, from_args
from .metrics.job import EvaluateJob, run_evaluate


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Evaluate TREC runs with ir-measures (missing judged queries count 0, as trec_eval -c).")
    add_arguments(p, EvaluateJob)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_cli("pyserini_ckd.evaluate", build_parser, lambda args: run_evaluate(from_args(EvaluateJob, args)), argv)


if __name__ == "__main__":
    main()
