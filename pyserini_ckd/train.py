"""``python -m pyserini_ckd.train``: train the dense student with hard labels, label smoothing or distillation.

    python -m pyserini_ckd.train --dataset scifact --negatives NEG.jsonl --output work/student-hard      # hard labels
    python -m pyserini_ckd.train --dataset scifact --labels LABELS.jsonl --init work/student-hard \\
                                 --output work/student-collective                                     # kd (default with labels)

Without ``--labels`` it trains on the qrels' positives and the BM25 negatives file (from
``python -m pyserini_ckd.negatives``). Several GPUs: ``torchrun --nproc_per_node N -m pyserini_ckd.train ...``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
from pathlib import Path
from typing import Optional, Sequence

from .cli import non_negative_float, positive_int, run_cli
from .data.datasets import resolve_dataset
from .errors import ConfigError
from .training.config import TrainConfig
from .training.data import from_labels, from_negatives
from .training.losses import LOSSES

logger = logging.getLogger(__name__)

_HELP = {
    "group_size": "candidates per query per step (1 positive + the rest negatives)",
    "negative_depth": "negatives are drawn from each query's top N candidates",
    "batch_size": "queries per optimizer step over all processes",
    "student_temperature": "student scores are q.p / tau (0.05 = cosine x 20)",
    "temperature": "kd: teacher softmax temperature",
    "epsilon": "uniform: label smoothing",
    "steps": "number of optimizer steps (overrides --epochs)",
    "max_length": "dense: cut training passages and queries at N tokens (the saved model keeps its own length)",
    "select_every": "with --select-qrels: score the held-out queries every N steps and keep the best step (0 included)",
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split(":", 1)[1].strip(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", required=True)
    p.add_argument("--split", default="train")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--labels", type=Path, help="labels JSONL from pyserini_ckd.label (teacher scores)")
    src.add_argument("--negatives", type=Path, help="BM25 negatives JSONL from pyserini_ckd.negatives (hard labels)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in OUTPUT.checkpoints")
    p.add_argument("--model", choices=list(MODEL_KINDS), default="dense",
                   help="dense: the student; late-interaction and cross-encoder: teachers (built on --init's backbone); "
                        "joint: the dense student with a late-interaction head trained beside it (a teacher that "
                        "costs no training of its own; see pyserini_ckd.teacher.joint)")
    p.add_argument("--holdout-fraction", type=non_negative_float, default=0.0,
                   help="leave out this share of the split's queries (a fixed, hash-chosen slice) for evaluation")
    p.add_argument("--holdout-qrels", type=Path, help="write the held-out queries' qrels here (BEIR tsv)")
    p.add_argument("--max-queries", type=positive_int, default=None,
                   help="train on at most N queries (a fixed, hash-chosen subset), after the hold-out")
    p.add_argument("--holdout-seed", type=int, default=None,
                   help="seed of the hold-out and --max-queries choice (default: --seed); one value for every "
                        "model of an experiment, so that no seed trains on another's held-out queries")
    p.add_argument("--select-qrels", type=Path, help="held-out queries (BEIR qrels) to choose the best step on; "
                                                     "none of them may be a training query")
    p.add_argument("--select-run", type=Path, help="with --select-qrels: a run of those queries whose top "
                                                   "--select-depth documents are re-ranked (BM25's, say)")
    p.add_argument("--select-depth", type=positive_int, default=30)
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.name == "output":
            p.add_argument(flag, type=Path, required=True, help="model directory to write")
        elif f.name == "loss":
            p.add_argument(flag, choices=LOSSES, default=None, help="default: kd with --labels, hard without")
        elif f.type in ("bool", bool):
            p.add_argument(flag, action="store_true", help=_HELP.get(f.name))
        elif f.name == "student_temperature":
            p.add_argument(flag, type=float, default=None, help="scores are divided by it (default: 0.05 for dense; 1 for teachers and joint, whose dense head has its own)")
        elif f.name == "seed":
            p.add_argument(flag, type=int, default=f.default)
        elif f.name in ("steps", "max_length", "select_every"):
            p.add_argument(flag, type=positive_int, default=None, help=_HELP[f.name])
        else:
            kind = {"int": positive_int, "float": float, "str": str}.get(str(f.type), str)
            if f.name in ("warmup_ratio", "weight_decay", "epsilon"):
                kind = non_negative_float
            p.add_argument(flag, type=kind, default=f.default, help=_HELP.get(f.name))
    return p


def _dense(init: str):
    from .dense.encoder import DenseEncoder

    return DenseEncoder.load(init)


def _late_interaction(init: str):
    from .teacher.late_interaction import LateInteractionEncoder, is_late_interaction_dir

    return LateInteractionEncoder.load(init) if is_late_interaction_dir(init) else LateInteractionEncoder.build(init)


def _joint(init: str):
    from .teacher.joint import JointEncoder, is_joint_dir

    return JointEncoder.load(init) if is_joint_dir(init) else JointEncoder.build(init)


def _cross_encoder(init: str):
    from .teacher.cross_encoder import CrossEncoder, is_cross_encoder_dir

    return CrossEncoder.load(init) if is_cross_encoder_dir(init) else CrossEncoder.build(init)


# The models the trainer can train, by --model: each loads its kind from --init, or builds a new one on --init's
# backbone (teachers' heads start random, seeded). Adding a kind is one entry here.
MODEL_KINDS = {"dense": _dense, "late-interaction": _late_interaction, "cross-encoder": _cross_encoder, "joint": _joint}


def build_model(kind: str, init: str, seed: int):
    """The model to train: the dense student from --init, or a new teacher on --init's backbone."""
    import torch

    torch.manual_seed(seed)
    return MODEL_KINDS[kind](init)


def _run(args: argparse.Namespace) -> None:
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)}
    values["loss"] = values["loss"] or ("kd" if args.labels else "hard")
    if values["student_temperature"] is None:
        values["student_temperature"] = 0.05 if args.model == "dense" else 1.0
    if values["loss"] == "kd" and not args.labels:
        raise ConfigError("--loss kd needs --labels (teacher scores)")
    config = TrainConfig(**values)
    dataset = resolve_dataset(args.dataset)
    corpus = dataset.corpus
    queries = dataset.queries
    dataset.qrels(args.split)  # checks the split's ids
    if args.labels:
        examples = from_labels(args.labels, queries, corpus)
    else:
        examples = from_negatives(args.negatives, queries, corpus)
    holdout_seed = config.seed if args.holdout_seed is None else args.holdout_seed
    if not 0 <= args.holdout_fraction < 1:
        raise ConfigError(f"holdout-fraction must be in [0, 1), got {args.holdout_fraction}")
    if args.holdout_fraction:
        from .training.holdout import split_holdout, write_holdout_qrels

        examples, held = split_holdout(examples, args.holdout_fraction, holdout_seed)
        if args.holdout_qrels:
            write_holdout_qrels(dataset.qrels(args.split), held, args.holdout_qrels)
        logger.info("holding out %d of %d queries", len(held), len(held) + len(examples))
    if args.max_queries:
        from .training.holdout import limit_queries

        examples = limit_queries(examples, args.max_queries, holdout_seed)
    passages = {docid: doc.contents for docid, doc in corpus.items()}
    selection = None
    if args.select_qrels:
        from .training.selection import build_selection_set

        if not args.select_run:
            raise ConfigError("--select-qrels needs --select-run (the candidates to re-rank)")
        selection = build_selection_set(args.select_qrels, args.select_run, queries, args.select_depth)
        overlap = sorted(set(selection.queries) & {e.qid for e in examples})
        if overlap:
            raise ConfigError(f"held-out query {overlap[0]!r} of {args.select_qrels} is also a training query")
    from .training.trainer import Trainer

    Trainer(config, examples, passages, model=build_model(args.model, config.init, config.seed),
            selection=selection).train(resume=args.resume)
    if int(os.environ.get("RANK", "0")) == 0:
        from .training.model_card import labels_meta_for, write_model_card

        write_model_card(config.output, args.model, str(dataset.path), labels_meta_for(args.labels), split=args.split)


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_cli("pyserini_ckd.train", build_parser, _run, argv)


if __name__ == "__main__":
    main()
