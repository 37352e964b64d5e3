"""``python -m pyserini_ckd.label``: label each training query's candidates with a labeler.

    python -m pyserini_ckd.label --dataset scifact --split train --labeler collective \\
        --teacher work/teacher-li --negatives work/bm25-negatives.train.jsonl --output work/labels/collective.jsonl \\
        [--run work/runs/collective.train.trec] [--warm-start work/student-hard]
    python -m pyserini_ckd.label --dataset scifact --import tevatron SCORED.jsonl --output work/labels/mine.jsonl
    python -m pyserini_ckd.label --dataset scifact --export pylate work/labels/collective.jsonl --output pylate.jsonl

The teacher's kind comes from its directory: a late-interaction teacher (``late_interaction.json``,
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
import dataclasses
import json
import logging
import platform
import time
from pathlib import Path
from typing import Optional, Sequence

from tqdm import tqdm

from .atomic import atomic_output, prepare_parent
from .cli import non_negative_float, positive_int, run_cli
from .data.datasets import resolve_dataset
from .data.records import ScoredDoc
from .data.runs import read_run, write_run
from .errors import ConfigError, InputError
from .labeling.labelers import LABELERS, NEEDS_TEACHER, NEGATIVES_FROM, LabelSettings, Timer, label_query
from .labeling.formats import FORMATS, export_labels, import_labels
from .labeling.labels import meta_path, write_labels
from .teacher.prf import PRFConfig, RocchioConfig

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split(":", 1)[1].strip(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", required=True)
    p.add_argument("--split", default="train")
    p.add_argument("--labeler", choices=LABELERS, help="required unless --import or --export is given")
    p.add_argument("--teacher", type=Path, help="teacher directory (collective, teacher, cross-encoder)")
    p.add_argument("--negatives", type=Path, help="BM25 negatives JSONL (pyserini_ckd.negatives); needed with --labeler "
                                                   "unless --pool is given")
    p.add_argument("--pool", type=Path, help="score exactly this labels file's candidates for each query (normally the "
                                             "plain teacher's labels), so that every labeler has the same pool")
    p.add_argument("--output", type=Path, required=True, help="labels JSONL to write (with --export: the file in FORMAT)")
    io = p.add_mutually_exclusive_group()
    io.add_argument("--import", dest="import_", nargs=2, metavar=("FORMAT", "FILE"),
                    help=f"labels from a peer's teacher scores instead of a labeler; FORMAT: {', '.join(FORMATS)}")
    io.add_argument("--export", nargs=2, metavar=("FORMAT", "LABELS"),
                    help="write our labels file LABELS in FORMAT to --output")
    p.add_argument("--run", "--ranking", dest="run", type=Path,
                   help="also write the labeler's ranking (TREC run); under torchrun spell it --ranking (torchrun takes --run for its own --run-path)")
    p.add_argument("--bm25-run", type=Path, help="cross-encoder: BM25 run of the split, the pool it re-ranks")
    p.add_argument("--index", type=Path, help="teacher token index folder (default: OUTPUT.teacher-index; reused)")
    p.add_argument("--warm-start", type=Path, help="the shared hard-label checkpoint: its training is not teacher cost")
    p.add_argument("--device", default="cpu")
    p.add_argument("--max-queries", type=positive_int, default=None,
                   help="label at most N queries outside the hold-out (hash-chosen, as the trainer's --max-queries)")
    p.add_argument("--holdout-fraction", type=non_negative_float, default=0.0,
                   help="with --max-queries: held-out queries are always labelled (their rankings judge the teacher)")
    p.add_argument("--seed", type=int, default=42, help="seed of the hold-out and --max-queries selection")
    s = p.add_argument_group("candidates")
    s.add_argument("--bm25-negatives", type=int, default=20)
    s.add_argument("--teacher-negatives", type=int, default=20)
    s.add_argument("--teacher-depth", type=positive_int, default=100)
    s.add_argument("--epsilon", type=non_negative_float, default=0.1, help="uniform: label smoothing")
    s.add_argument("--negatives-from", choices=NEGATIVES_FROM, default="plain",
                   help="collective without --pool: take the teacher negatives from the plain ranking (the authors' "
                        "code) or from the PRF-expanded one")
    s.add_argument("--ann-tokens", type=int, default=0,
                   help="late-interaction teacher on a large corpus: rank only the documents of each query vector's "
                        "N nearest token vectors (a Faiss IVF index, built once); 0 = exact over all documents")
    f = p.add_argument_group("pseudo-relevance feedback")
    f.add_argument("--fb-docs", type=positive_int, default=3)
    f.add_argument("--fb-clusters", type=positive_int, default=24)
    f.add_argument("--fb-k", type=positive_int, default=10)
    f.add_argument("--beta", type=non_negative_float, default=1.0)
    f.add_argument("--rocchio-fb-docs", type=positive_int, default=3)
    f.add_argument("--rocchio-alpha", type=non_negative_float, default=1.0)
    f.add_argument("--rocchio-beta", type=non_negative_float, default=0.5)
    return p


def load_teacher(args, labeler: str, corpus, settings: LabelSettings):
    from .labeling.teachers import CrossEncoderTeacher, DenseTeacher, LateInteractionTeacher
    from .teacher.cross_encoder import is_cross_encoder_dir
    from .teacher.late_interaction import is_late_interaction_dir

    if labeler not in NEEDS_TEACHER:
        return None
    if not args.teacher:
        raise ConfigError(f"--labeler {labeler} needs --teacher")
    if is_cross_encoder_dir(args.teacher):
        if labeler != "cross-encoder":
            raise ConfigError(f"{args.teacher} is a cross-encoder: use --labeler cross-encoder")
        if not args.bm25_run and not args.pool:
            raise ConfigError("--labeler cross-encoder needs --bm25-run (the BM25 pool it re-ranks) or --pool")
        run = read_run(args.bm25_run) if args.bm25_run else {}
        pool = {q: [h.docid for h in hits[:settings.teacher_depth]] for q, hits in run.items()}
        return CrossEncoderTeacher(args.teacher, corpus, pool, args.device)
    if labeler == "cross-encoder":
        raise ConfigError(f"{args.teacher} is not a cross-encoder (no cross_encoder.json)")
    if is_late_interaction_dir(args.teacher):
        index = args.index or args.output.with_name(args.output.name + ".teacher-index")
        if args.ann_tokens < 0:
            raise ConfigError(f"ann-tokens must be >= 0, got {args.ann_tokens}")
        return LateInteractionTeacher(args.teacher, corpus, index, settings.prf, args.device, args.ann_tokens)
    return DenseTeacher(args.teacher, corpus, settings.rocchio, args.device)


def read_pool(path: Path, corpus) -> dict:
    """{qid: [(docid, sources)]} from a labels file, every document id checked against the corpus."""
    from .labeling.labels import iter_labels

    pools = {}
    for number, record in iter_labels(path):
        for c in record["candidates"]:
            if c["docid"] not in corpus:
                raise InputError(path, number, f"unknown document id {c['docid']!r}")
        pools[record["qid"]] = [(c["docid"], list(c.get("sources", []))) for c in record["candidates"]]
    return pools


def _training_seconds(args) -> float:
    if not args.teacher or (args.warm_start and args.teacher.resolve() == args.warm_start.resolve()):
        return 0.0
    summary = args.teacher / "train_config.json"
    return float(json.loads(summary.read_text()).get("train_seconds", 0.0)) if summary.is_file() else 0.0


def _convert(args: argparse.Namespace) -> None:
    """--import / --export: teacher scores from or to a peer's format (pyserini_ckd.labeling.formats)."""
    fmt = (args.import_ or args.export)[0]
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    prepare_parent(args.output)
    dataset = resolve_dataset(args.dataset)
    if args.export:
        n = export_labels(fmt, args.export[1], dataset, args.output)
        logger.info("wrote %d queries' labels in %s format to %s", n, fmt, args.output)
        return
    started = time.perf_counter()
    records = import_labels(fmt, args.import_[1], dataset, args.split)
    write_labels(records, args.output)
    meta = {"labeler": f"imported:{fmt}", "teacher": str(args.import_[1]), "teacher_kind": f"imported ({fmt})",
            "dataset": str(dataset.path), "split": args.split, "queries": len(records), "settings": {},
            "seconds": {}, "teacher_cost_seconds": None, "wall_seconds": round(time.perf_counter() - started, 2),
            "machine": platform.machine(), "device": None}
    with atomic_output(meta_path(args.output)) as tmp:
        tmp.write_text(json.dumps(meta, indent=1))
    logger.info("imported %d queries' teacher scores from %s (%s)", len(records), args.import_[1], fmt)


def _run(args: argparse.Namespace) -> None:
    if args.import_ or args.export:
        return _convert(args)
    if not args.labeler or not (args.negatives or args.pool):
        raise ConfigError("--labeler and --negatives (or --pool) are required (unless --import or --export is given)")
    settings = LabelSettings(bm25_negatives=args.bm25_negatives, teacher_negatives=args.teacher_negatives,
                             teacher_depth=args.teacher_depth, epsilon=args.epsilon, negatives_from=args.negatives_from,
                             prf=PRFConfig(fb_docs=args.fb_docs, fb_clusters=args.fb_clusters, fb_k=args.fb_k, beta=args.beta),
                             rocchio=RocchioConfig(fb_docs=args.rocchio_fb_docs, alpha=args.rocchio_alpha, beta=args.rocchio_beta))
    from .lucene.negatives import read_negatives

    prepare_parent(args.output)  # fail before labelling if the labels cannot be written
    dataset = resolve_dataset(args.dataset)
    corpus = dataset.corpus
    qrels = dataset.qrels(args.split)
    negatives = read_negatives(args.negatives, corpus) if args.negatives else {}
    pools = read_pool(args.pool, corpus) if args.pool else None
    from .labeling.shards import Group, Part, my_share, ordered, read_parts, remove_parts

    started = time.perf_counter()
    group = Group()  # one process, or torchrun's (each labels every W-th query; pyserini_ckd.labeling.shards)
    try:
        qids = [q for q, docs in qrels.items() if any(r > 0 for r in docs.values())]
        if args.max_queries:
            from types import SimpleNamespace

            from .training.holdout import is_held_out, limit_queries

            held = {q for q in qids if is_held_out(q, args.holdout_fraction, args.seed)}
            rest = [q for q in qids if q not in held]
            chosen = {e.qid for e in limit_queries([SimpleNamespace(qid=q) for q in rest], args.max_queries, args.seed)}
            qids = [q for q in qids if q in chosen or q in held]
        if pools is not None:
            missing = [q for q in qids if q not in pools]
            if missing:
                raise InputError(args.pool, None, f"query {missing[0]!r} has no candidates in the pool")
        teacher = load_teacher(args, args.labeler, corpus, settings) if group.rank == 0 else None
        group.barrier()  # rank 0 builds the teacher's index; the others then load it
        if teacher is None:
            teacher = load_teacher(args, args.labeler, corpus, settings)
        timer = Timer()
        parts = args.output.with_name(args.output.name + ".parts")
        part = Part(parts, group.rank, group.world)
        done = part.done()
        todo = [q for q in my_share(qids, group.rank, group.world) if q not in done]
        if done:
            logger.info("continuing: %d queries labelled before, %d to go", len(done), len(todo))
        try:
            with part.appender() as out:
                for qid in tqdm(todo, unit="query", desc=f"label {args.labeler}", disable=group.rank != 0):
                    positives = [d for d, r in qrels[qid].items() if r > 0]
                    bm25 = [n.docid for n in negatives[qid].negatives] if qid in negatives else []
                    before = dict(timer.seconds)
                    record, ranking = label_query(args.labeler, teacher, qid, dataset.queries[qid].text, positives, bm25,
                                                  settings, timer, pools[qid] if pools is not None else None)
                    spent = {k: v - before.get(k, 0.0) for k, v in timer.seconds.items()}
                    out.write(Part.line(qid, record.to_json(), ranking, spent))
                    out.flush()
        except BaseException:
            part.discard_if_empty()  # keep finished queries for a rerun, not an empty part (a full disk, say)
            raise
        group.barrier()
        if group.rank == 0:
            _finish(args, settings, dataset, teacher, list(ordered(read_parts(parts, group.world), qids)), started, group.world)
            remove_parts(parts)
        group.barrier()
    finally:
        group.close()


def _finish(args, settings: LabelSettings, dataset, teacher, entries, started: float, processes: int) -> None:
    """The labels file (in query order), the labeler's ranking and the meta, from every rank's labelled queries."""
    from .labeling.labels import write_label_lines

    seconds = {"teacher_training": _training_seconds(args), "index": getattr(teacher, "index_seconds", 0.0), "prf": 0.0, "scoring": 0.0}
    for e in entries:
        for k, v in e["seconds"].items():
            seconds[k] = seconds.get(k, 0.0) + v
    write_label_lines([e["record"] for e in entries], args.output)
    ranking_run = {e["qid"]: [ScoredDoc(d, s) for d, s in e["ranking"]] for e in entries if e["ranking"]}
    if args.run and ranking_run:
        write_run(ranking_run, args.run, tag=args.labeler)
    meta = {"labeler": args.labeler, "teacher": str(args.teacher) if args.teacher else None,
            "teacher_kind": getattr(teacher, "kind", None), "dataset": str(dataset.path), "split": args.split,
            "queries": len(entries), "settings": dataclasses.asdict(settings),
            "pool": str(args.pool) if args.pool else None,
            "seconds": {k: round(v, 2) for k, v in seconds.items()},
            "teacher_cost_seconds": round(sum(seconds.values()), 2),
            "index_reused": getattr(teacher, "reused_index", None), "processes": processes,
            "wall_seconds": round(time.perf_counter() - started, 2), "machine": platform.machine(), "device": args.device}
    with atomic_output(meta_path(args.output)) as tmp:
        tmp.write_text(json.dumps(meta, indent=1))
    logger.info("labelled %d queries with %s; teacher cost %.1f s", len(entries), args.labeler, meta["teacher_cost_seconds"])


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_cli("pyserini_ckd.label", build_parser, _run, argv)


if __name__ == "__main__":
    main()
