"""``python -m pyserini_ckd.inspect_labels``: look inside labels files, one query or all of them.

    python -m pyserini_ckd.inspect_labels --labels LABELS --dataset D --qid Q [--top 10]
    python -m pyserini_ckd.inspect_labels --stats --labels L1 [L2 ...] [--temperature 0.25] \
        [--hidden QRELS] [--runs RUN1 [RUN2 ...]] [--plain TEACHER_LABELS] [--json OUT]

One query: its expansion tokens with weights, and its top candidates by score with their sources and
whether they are labelled positives. ``--stats``: per file, what the targets at the training temperature
teach (mass on labelled positives, off-positive mass and its sources, rows where an unlabelled candidate
outscores a positive); with ``--hidden QRELS`` (fuller judgments of the same queries) the mass on relevant
passages the labels hide, those passages in the candidate pool (false negatives for hard labels), and with
``--runs`` (each labeler's ranking of the queries, in the order of ``--labels``) their recall at 10 and 100;
with ``--plain`` (the plain teacher's labels of the same pool) how far each file's targets move from the
plain teacher's (the expansion's share of collective labels).
The maths: :mod:`pyserini_ckd.labeling.audit`; the options are the fields of
:class:`pyserini_ckd.labeling.inspection.InspectJob`.
"""

from __future__ import annotations

import argparse
from typing import Optional, Sequence

from .cli import run_cli
from .jobs import add_arguments, from_args
from .labeling.inspection import InspectJob, run_inspect


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split(":", 1)[1].strip(), formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p, InspectJob)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_cli("pyserini_ckd.inspect_labels", build_parser, lambda args: run_inspect(from_args(InspectJob, args)), argv)


if __name__ == "__main__":
    main()
