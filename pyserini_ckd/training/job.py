"""The train job: what ``python -m pyserini_ckd.train`` and the pipeline's training stages run.

A :class:`TrainJob` names the data (a dataset split and either a labels file or a BM25 negatives file),
the model kind, the hold-out and model-selection queries, and holds the trainer's
:class:`~pyserini_ckd.training.config.TrainConfig`. :func:`run_train` loads the examples, holds out
``holdout_fraction`` of the queries (a hash of seed and query id, :mod:`pyserini_ckd.training.holdout`),
builds the model of ``model``'s kind from ``config.init`` (:data:`MODEL_KINDS`) and trains it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import ConfigError
from ..jobs import non_negative_float, positive_int, setting
from .config import TrainConfig

logger = logging.getLogger(__name__)


def _dense(init: str):
    from ..dense.encoder import DenseEncoder

    return DenseEncoder.load(init)


def _late_interaction(init: str):
    from ..teacher.late_interaction import LateInteractionEncoder, is_late_interaction_dir

    return LateInteractionEncoder.load(init) if is_late_interaction_dir(init) else LateInteractionEncoder.build(init)


def _joint(init: str):
    from ..teacher.joint import JointEncoder, is_joint_dir

    return JointEncoder.load(init) if is_joint_dir(init) else JointEncoder.build(init)


def _cross_encoder(init: str):
    from ..teacher.cross_encoder import CrossEncoder, is_cross_encoder_dir

    return CrossEncoder.load(init) if is_cross_encoder_dir(init) else CrossEncoder.build(init)


# The models the trainer can train, by --model: each loads its kind from --init, or builds a new one on --init's
# backbone (teachers' heads start random, seeded). Adding a kind is one entry here.
MODEL_KINDS = {"dense": _dense, "late-interaction": _late_interaction, "cross-encoder": _cross_encoder, "joint": _joint}


def build_model(kind: str, init: str, seed: int):
    """The model to train: the dense student from ``init``, or a new teacher on ``init``'s backbone."""
    import torch

    torch.manual_seed(seed)
    return MODEL_KINDS[kind](init)


def default_student_temperature(model: str) -> float:
    """0.05 for the dense student (cosine x 20); 1 for teachers and the joint model, whose dense head has its own."""
    return 0.05 if model == "dense" else 1.0


@dataclass
class TrainJob:
    """One training run: data, model kind, hold-out and selection queries, and the trainer's settings."""

    dataset: str = setting(help="dataset folder or name under $PYSERINI_CKD_DATA")
    config: TrainConfig = setting(nested=TrainConfig, default_factory=lambda: TrainConfig(output=Path(".")))
    split: str = setting("train")
    labels: Optional[Path] = setting(None, type=Path, help="labels JSONL from pyserini_ckd.label (teacher scores)")
    negatives: Optional[Path] = setting(None, type=Path, help="BM25 negatives JSONL from pyserini_ckd.negatives (hard labels)")
    resume: bool = setting(False, help="continue from the newest checkpoint in OUTPUT.checkpoints")
    model: str = setting("dense", choices=tuple(MODEL_KINDS),
                         help="dense: the student; late-interaction and cross-encoder: teachers (built on --init's backbone); "
                              "joint: the dense student with a late-interaction head trained beside it (a teacher that "
                              "costs no training of its own; see pyserini_ckd.teacher.joint)")
    holdout_fraction: float = setting(0.0, type=non_negative_float,
                                      help="leave out this share of the split's queries (a fixed, hash-chosen slice) for evaluation")
    holdout_qrels: Optional[Path] = setting(None, type=Path, help="write the held-out queries' qrels here (BEIR tsv)")
    max_queries: Optional[int] = setting(None, type=positive_int,
                                         help="train on at most N queries (a fixed, hash-chosen subset), after the hold-out")
    holdout_seed: Optional[int] = setting(None, type=int,
                                          help="seed of the hold-out and --max-queries choice (default: --seed); one value for "
                                               "every model of an experiment, so that no seed trains on another's held-out queries")
    select_qrels: Optional[Path] = setting(None, type=Path, help="held-out queries (BEIR qrels) to choose the best step on; "
                                                                 "none of them may be a training query")
    select_run: Optional[Path] = setting(None, type=Path, help="with --select-qrels: a run of those queries whose top "
                                                               "--select-depth documents are re-ranked (BM25's, say)")
    select_depth: int = setting(30, type=positive_int)

    def __post_init__(self) -> None:
        if (self.labels is None) == (self.negatives is None):
            raise ConfigError("give one of --labels (teacher scores) or --negatives (BM25 negatives, hard labels)")
        if self.model not in MODEL_KINDS:
            raise ConfigError(f"unknown model kind {self.model!r}; choose from {', '.join(MODEL_KINDS)}")
        if self.config.loss == "kd" and not self.labels:
            raise ConfigError("--loss kd needs --labels (teacher scores)")
        if not 0 <= self.holdout_fraction < 1:
            raise ConfigError(f"holdout-fraction must be in [0, 1), got {self.holdout_fraction}")
        if self.select_qrels is not None and self.select_run is None:
            raise ConfigError("--select-qrels needs --select-run (the candidates to re-rank)")

    @classmethod
    def create(cls, *, config_values: dict, **job_values) -> "TrainJob":
        """A job whose trainer settings leave ``loss`` and ``student_temperature`` to the data and the model kind:
        kd with labels, hard without; :func:`default_student_temperature`."""
        values = dict(config_values)
        if values.get("loss") is None:
            values["loss"] = "kd" if job_values.get("labels") is not None else "hard"
        if values.get("student_temperature") is None:
            values["student_temperature"] = default_student_temperature(job_values.get("model", "dense"))
        return cls(config=TrainConfig(**values), **job_values)


def run_train(job: TrainJob) -> None:
    """Train ``job``'s model; on rank 0 write its model card."""
    from ..data.datasets import resolve_dataset
    from .data import from_labels, from_negatives

    config = job.config
    dataset = resolve_dataset(job.dataset)
    corpus = dataset.corpus
    queries = dataset.queries
    dataset.qrels(job.split)  # checks the split's ids
    examples = from_labels(job.labels, queries, corpus) if job.labels else from_negatives(job.negatives, queries, corpus)
    holdout_seed = config.seed if job.holdout_seed is None else job.holdout_seed
    if job.holdout_fraction:
        from .holdout import split_holdout, write_holdout_qrels

        examples, held = split_holdout(examples, job.holdout_fraction, holdout_seed)
        if job.holdout_qrels:
            write_holdout_qrels(dataset.qrels(job.split), held, job.holdout_qrels)
        logger.info("holding out %d of %d queries", len(held), len(held) + len(examples))
    if job.max_queries:
        from .holdout import limit_queries

        examples = limit_queries(examples, job.max_queries, holdout_seed)
    passages = {docid: doc.contents for docid, doc in corpus.items()}
    selection = None
    if job.select_qrels:
        from .selection import build_selection_set

        selection = build_selection_set(job.select_qrels, job.select_run, queries, job.select_depth)
        overlap = sorted(set(selection.queries) & {e.qid for e in examples})
        if overlap:
            raise ConfigError(f"held-out query {overlap[0]!r} of {job.select_qrels} is also a training query")
    from .trainer import Trainer

    Trainer(config, examples, passages, model=build_model(job.model, config.init, config.seed),
            selection=selection).train(resume=job.resume)
    if int(os.environ.get("RANK", "0")) == 0:
        from .model_card import labels_meta_for, write_model_card

        write_model_card(config.output, job.model, str(dataset.path), labels_meta_for(job.labels), split=job.split)
