"""``python -m pyserini_ckd.train``: train the dense student with hard labels, label smoothing or distillation.

    python -m pyserini_ckd.train --dataset scifact --negatives NEG.jsonl --output work/student-hard      # hard labels
    python -m pyserini_ckd.train --dataset scifact --labels LABELS.jsonl --init work/student-hard \\
                                 --output work/student-collective                                     # kd (default with labels)

Without ``--labels`` it trains on the qrels' positives and the BM25 negatives file (from
``python -m pyserini_ckd.negatives``). Several GPUs: ``torchrun --nproc_per_node N -m pyserini_ckd.train ...``.
The options are the fields of :class:`pyserini_ckd.training.job.TrainJob` and of the trainer's
:class:`pyserini_ckd.training.config.TrainConfig`.
"""

from __future__ import annotations

import argparse
from typing import Optional, Sequence

from .cli import run_cli
from .jobs import add_arguments, field_names
from .training.config import TrainConfig
from .training.job import TrainJob, run_train


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split(":", 1)[1].strip(), formatter_class=argparse.RawDescriptionHelpFormatter)
    # loss and student temperature default to what the data and the model kind ask for (TrainJob.create)
    add_arguments(p, TrainJob, overrides={"loss": {"default": None}, "student_temperature": {"default": None}})
    return p


def job_from_args(args: argparse.Namespace) -> TrainJob:
    return TrainJob.create(config_values={f: getattr(args, f) for f in field_names(TrainConfig)},
                           **{f: getattr(args, f) for f in field_names(TrainJob) if f != "config"})


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_cli("pyserini_ckd.train", build_parser, lambda args: run_train(job_from_args(args)), argv)


if __name__ == "__main__":
    main()
