"""``python -m pyserini_ckd.label``: label each training query's candidates with a labeler.

    python -m pyserini_ckd.label --dataset scifact --split train --labeler collective \\
        --teacher work/teacher-li --negatives work/bm25-negatives.train.jsonl --output work/labels/collective.jsonl \\
        [--run work/runs/collective.train.trec] [--warm-start work/student-hard]
    python -m pyserini_ckd.label --dataset scifact --import tevatron SCORED.jsonl --output work/labels/mine.jsonl
    python -m pyserini_ckd.label --dataset scifact --export pylate work/labels/collective.jsonl --output pylate.jsonl

The options are the fields of :class:`pyserini_ckd.labeling.job.LabelJob` and of its
:class:`~pyserini_ckd.labeling.labelers.LabelSettings`. The teacher's kind comes from its directory: a late-interaction teacher (``late_interaction.json``,
ColBERT-PRF), a cross-encoder (``cross_encoder.json``; needs ``--bm25-run`` for its re-ranking pool), or any
dense model directory (Rocchio feedback). Writes the labels (format: :mod:`pyserini_ckd.labeling.labels`),
``LABELS.meta.json`` (settings, seconds of each stage, teacher cost) and, with ``--run``, the labeler's
ranking as a TREC run.

Teacher cost = training of the teacher (from its ``train_config.json``; not counted when the teacher is
the ``--warm-start`` checkpoint every student shares) + indexing + PRF + scoring.

``--import FORMAT FILE`` turns a peer's teacher scores (Tevatron, sentence-transformers'
``mine_hard_negatives`` with scores, PyLate) into a labels file the trainer distils from; ``--export
FORMAT LABELS`` writes ours in theirs (formats: :mod:`pyserini_ckd.labeling.formats`).
"""

from __future__ import annotations

import argparse
from typing import Optional, Sequence

from .cli import run_cli
from .jobs import add_arguments, from_args
from .labeling.job import LabelJob, run_label


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split(":", 1)[1].strip(), formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p, LabelJob)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_cli("pyserini_ckd.label", build_parser, lambda args: run_label(from_args(LabelJob, args)), argv)


if __name__ == "__main__":
    main()
