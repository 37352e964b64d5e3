"""The label job: what ``python -m pyserini_ckd.label`` and the pipeline's labelling stages run.

A :class:`LabelJob` names the dataset split, the labeler (:data:`~pyserini_ckd.labeling.labelers.LABELERS`),
its teacher and the candidate sources (BM25 negatives, or another labels file's pool), and holds the
labeler's :class:`~pyserini_ckd.labeling.labelers.LabelSettings` (with ColBERT-PRF's and Rocchio's).
:func:`run_label` writes the labels (format: :mod:`pyserini_ckd.labeling.labels`), ``LABELS.meta.json``
(settings, seconds of each stage, teacher cost) and, with ``run``, the labeler's ranking as a TREC run.
Under torchrun each rank labels every W-th query (:mod:`pyserini_ckd.labeling.shards`).

Teacher cost = training of the teacher (from its ``train_config.json``; not counted when the teacher is
the ``warm_start`` checkpoint every student shares) + indexing + PRF + scoring.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tqdm import tqdm

from ..atomic import atomic_output, prepare_parent
from ..data.datasets import resolve_dataset
from ..data.records import ScoredDoc
from ..data.runs import read_run, write_run
from ..errors import ConfigError, InputError
from ..jobs import non_negative_float, non_negative_int, positive_int, setting
from .formats import FORMATS, export_labels, import_labels
from .labelers import CE_TEACHER, LABELERS, NEEDS_TEACHER, LabelSettings, Timer, label_query, prepare_queries
from .labels import meta_path, write_labels
from ..teacher.centroid_index import (APPROX_FROM_TOKENS, DECOMPRESS_FROM_NDOCS, DOCS_PER_KEPT, FIRST_STAGES,
                                      KEPT_PER_EXACT, MAX_NDECOMPRESS, MIN_NDOCS,
                                      MIN_NEXACT, PRF_FROM, PRF_RESCORE, Approximate)
from ..teacher.residuals import NBITS
from ..teacher.token_index import IN_MEMORY_TOKENS
from ..training.holdout import is_held_out

logger = logging.getLogger(__name__)


RANKED = ("all", "held-out")  # LabelJob.ranked
PREPARED_QUERIES = 32  # queries a teacher encodes, ranks and expands together (labelers.prepare_queries)


@dataclass
class LabelJob:
    """One labelling run (or one conversion from or to a peer's format)."""

    dataset: str = setting(help="dataset folder or name under $PYSERINI_CKD_DATA")
    output: Path = setting(type=Path, help="labels JSONL to write (with --export: the file in FORMAT)")
    split: str = setting("train")
    labeler: Optional[str] = setting(None, choices=tuple(LABELERS), help="required unless --import or --export is given")
    teacher: Optional[Path] = setting(None, type=Path, help="teacher directory (collective, teacher, cross-encoder)")
    negatives: Optional[Path] = setting(None, type=Path, help="BM25 negatives JSONL (pyserini_ckd.negatives); needed with "
                                                             "--labeler unless --pool is given")
    pool: Optional[Path] = setting(None, type=Path, help="score exactly this labels file's candidates for each query "
                                                         "(normally the plain teacher's labels), so that every labeler has the same pool")
    import_: Optional[list] = setting(None, flags=["--import"], nargs=2, metavar=("FORMAT", "FILE"),
                                      help=f"labels from a peer's teacher scores instead of a labeler; FORMAT: {', '.join(FORMATS)}")
    export: Optional[list] = setting(None, nargs=2, metavar=("FORMAT", "LABELS"), help="write our labels file LABELS in FORMAT to --output")
    run: Optional[Path] = setting(None, type=Path, flags=["--run", "--ranking"],
                                  help="also write the labeler's ranking (TREC run); under torchrun spell it --ranking "
                                       "(torchrun takes --run for its own --run-path)")
    ranked: str = setting("all", choices=RANKED, help="the queries whose ranking --run holds: all, or only the held-out "
                                                      "ones (--holdout-fraction); the collective labeler skips the expanded "
                                                      "query's full search for the others (same labels, fewer seconds)")
    bm25_run: Optional[Path] = setting(None, type=Path, help="cross-encoder: BM25 run of the split, the pool it re-ranks")
    index: Optional[Path] = setting(None, type=Path, help="teacher token index folder (default: OUTPUT.teacher-index; reused)")
    warm_start: Optional[Path] = setting(None, type=Path, help="the shared hard-label checkpoint: its training is not teacher cost")
    device: str = setting("cpu")
    max_queries: Optional[int] = setting(None, type=positive_int, help="label at most N queries outside the hold-out "
                                                                       "(hash-chosen, as the trainer's --max-queries)")
    holdout_fraction: float = setting(0.0, type=non_negative_float,
                                      help="the hold-out (their rankings judge the teacher): always labelled with --max-queries, "
                                           "the only queries ranked with --ranked held-out")
    seed: int = setting(42, type=int, help="seed of the hold-out and --max-queries selection")
    first_stage: str = setting("auto", choices=FIRST_STAGES, group="candidates",
                               help="late-interaction teacher's first stage: exact MaxSim over every document, or approximate "
                                    "(PLAID-style centroid interaction over INDEX/ivf/, built once, then exact MaxSim on the best "
                                    f"--nexact); auto = approximate past {APPROX_FROM_TOKENS:,} token vectors, unless "
                                    "the index is held in memory on a GPU")
    ncells: int = setting(Approximate.ncells, type=positive_int, group="candidates",
                          help="approximate first stage: centres probed per query vector")
    ndocs: Optional[int] = setting(None, type=positive_int, group="candidates",
                                   help="approximate first stage: documents kept by the pruned centroid interaction "
                                        f"(default: max({MIN_NDOCS:,}, the collection's size / {DOCS_PER_KEPT}) as a power of 2)")
    nexact: Optional[int] = setting(None, type=positive_int, group="candidates",
                                    help="approximate first stage: documents scored exactly after the full centroid "
                                         f"interaction (default: max({MIN_NEXACT:,}, ndocs / {KEPT_PER_EXACT}), or "
                                         f"{MIN_NEXACT:,} with the decompression stage)")
    ndecompress: Optional[int] = setting(None, type=non_negative_int, group="candidates",
                                         help="approximate first stage: documents the full centroid interaction keeps for "
                                              "MaxSim from residual codes (INDEX/ivf/residuals/, built once), whose best "
                                              f"--nexact are scored exactly; 0: no such stage (default: none below ndocs "
                                              f"{DECOMPRESS_FROM_NDOCS:,}, about 1.5 M passages, else min(ndocs / "
                                              f"{KEPT_PER_EXACT}, {MAX_NDECOMPRESS:,}))")
    residual_bits: int = setting(Approximate.residual_bits, type=positive_int, group="candidates",
                                 help="bits a dimension of the residual codes (1, 2, 4 or 8)")
    prf_from: str = setting("codes", choices=PRF_FROM, group="candidates",
                            help="streamed index: what PRF ranks the tokens of its probed lists by: their residual codes "
                                 f"(INDEX/ivf/residuals/, built once; one contiguous read a list), then only the best "
                                 f"{PRF_RESCORE} x k read from disk and scored exactly, or every probed vector read from disk")
    prf_cells: int = setting(Approximate.prf_cells, type=positive_int, group="candidates",
                             help="streamed index (past the in-memory size): centres whose lists each PRF centroid's "
                                  "nearest tokens are looked up in (in memory the look-up is exact)")
    in_memory_tokens: Optional[int] = setting(None, type=non_negative_int, group="candidates",
                                              help="token vectors up to which the teacher index is held in memory and "
                                                   f"scanned there (default {IN_MEMORY_TOKENS:,}, or on a GPU what half its "
                                                   "memory holds, about 80 M on an H200); past it searches and "
                                                   "PRF read the vectors from disk. 0 streams every index")
    settings: LabelSettings = setting(nested=LabelSettings)

    def __post_init__(self) -> None:
        self.output = Path(self.output)
        if self.import_ and self.export:
            raise ConfigError("give --import or --export, not both")
        if not (self.import_ or self.export) and (not self.labeler or not (self.negatives or self.pool)):
            raise ConfigError("--labeler and --negatives (or --pool) are required (unless --import or --export is given)")
        if self.in_memory_tokens is not None and self.in_memory_tokens < 0:
            raise ConfigError(f"--in-memory-tokens must be >= 0, got {self.in_memory_tokens}")
        if self.residual_bits not in NBITS:
            raise ConfigError(f"--residual-bits must be one of {', '.join(map(str, NBITS))}, got {self.residual_bits}")
        if self.ranked not in RANKED:
            raise ConfigError(f"--ranked must be one of {', '.join(RANKED)}, got {self.ranked!r}")
        if self.ranked == "held-out" and self.run is not None and self.holdout_fraction <= 0:
            raise ConfigError("--ranked held-out needs --holdout-fraction above 0 (else --run would hold no query)")


def load_teacher(job: LabelJob, labeler: str, corpus, settings: LabelSettings):
    from .teachers import CrossEncoderTeacher, DenseTeacher, LateInteractionTeacher
    from ..teacher.cross_encoder import is_cross_encoder_dir
    from ..teacher.late_interaction import is_late_interaction_dir

    if labeler not in NEEDS_TEACHER:
        return None
    if not job.teacher:
        raise ConfigError(f"--labeler {labeler} needs --teacher")
    wants_cross_encoder = LABELERS[labeler].teacher == CE_TEACHER
    if is_cross_encoder_dir(job.teacher):
        if not wants_cross_encoder:
            raise ConfigError(f"{job.teacher} is a cross-encoder: use --labeler cross-encoder")
        if not job.bm25_run and not job.pool:
            raise ConfigError(f"--labeler {labeler} needs --bm25-run (the BM25 pool it re-ranks) or --pool")
        run = read_run(job.bm25_run) if job.bm25_run else {}
        pool = {q: [h.docid for h in hits[:settings.teacher_depth]] for q, hits in run.items()}
        return CrossEncoderTeacher(job.teacher, corpus, pool, job.device)
    if wants_cross_encoder:
        raise ConfigError(f"{job.teacher} is not a cross-encoder (no cross_encoder.json)")
    if is_late_interaction_dir(job.teacher):
        index = job.index or job.output.with_name(job.output.name + ".teacher-index")
        return LateInteractionTeacher(job.teacher, corpus, index, settings.prf, job.device, job.first_stage,
                                      Approximate(ncells=job.ncells, ndocs=job.ndocs, nexact=job.nexact,
                                                  prf_cells=job.prf_cells, ndecompress=job.ndecompress,
                                                  residual_bits=job.residual_bits,
                                                  prf_codes=job.prf_from == "codes" and LABELERS[labeler].expands),
                                      job.in_memory_tokens)
    return DenseTeacher(job.teacher, corpus, settings.rocchio, job.device)


def first_stage_meta(teacher):
    """How a late-interaction teacher searched the collection: ``exact``, or the approximate settings sized to its
    index (:meth:`~pyserini_ckd.teacher.centroid_index.Approximate.sized`); None for other teachers."""
    if not hasattr(teacher, "approximate"):
        return None
    return dataclasses.asdict(teacher.approximate) if teacher.approximate is not None else "exact"


def read_pool(path: Path, corpus) -> dict:
    """{qid: [(docid, sources)]} from a labels file, every document id checked against the corpus."""
    from .labels import iter_labels

    pools = {}
    for number, record in iter_labels(path):
        for c in record["candidates"]:
            if c["docid"] not in corpus:
                raise InputError(path, number, f"unknown document id {c['docid']!r}")
        pools[record["qid"]] = [(c["docid"], list(c.get("sources", []))) for c in record["candidates"]]
    return pools


def _training_seconds(job: LabelJob) -> float:
    if not job.teacher or (job.warm_start and job.teacher.resolve() == job.warm_start.resolve()):
        return 0.0
    summary = job.teacher / "train_config.json"
    return float(json.loads(summary.read_text()).get("train_seconds", 0.0)) if summary.is_file() else 0.0


def _convert(job: LabelJob) -> None:
    """--import / --export: teacher scores from or to a peer's format (pyserini_ckd.labeling.formats)."""
    fmt = (job.import_ or job.export)[0]
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    prepare_parent(job.output)
    dataset = resolve_dataset(job.dataset)
    if job.export:
        n = export_labels(fmt, job.export[1], dataset, job.output)
        logger.info("wrote %d queries' labels in %s format to %s", n, fmt, job.output)
        return
    started = time.perf_counter()
    records = import_labels(fmt, job.import_[1], dataset, job.split)
    write_labels(records, job.output)
    meta = {"labeler": f"imported:{fmt}", "teacher": str(job.import_[1]), "teacher_kind": f"imported ({fmt})",
            "dataset": str(dataset.path), "split": job.split, "queries": len(records), "settings": {},
            "seconds": {}, "teacher_cost_seconds": None, "wall_seconds": round(time.perf_counter() - started, 2),
            "machine": platform.machine(), "device": None}
    with atomic_output(meta_path(job.output)) as tmp:
        tmp.write_text(json.dumps(meta, indent=1))
    logger.info("imported %d queries' teacher scores from %s (%s)", len(records), job.import_[1], fmt)


def run_label(job: LabelJob) -> None:
    """Label ``job``'s queries (or convert a peer's scores, with ``import_``/``export``); see the module doc."""
    if job.import_ or job.export:
        return _convert(job)
    settings = job.settings
    from ..lucene.negatives import read_negatives

    prepare_parent(job.output)  # fail before labelling if the labels cannot be written
    dataset = resolve_dataset(job.dataset)
    corpus = dataset.corpus
    qrels = dataset.qrels(job.split)
    negatives = read_negatives(job.negatives, corpus) if job.negatives else {}
    pools = read_pool(job.pool, corpus) if job.pool else None
    from .shards import Group, Part, my_share, ordered, read_parts, remove_parts

    started = time.perf_counter()
    group = Group()  # one process, or torchrun's (each labels every W-th query; pyserini_ckd.labeling.shards)
    try:
        qids = [q for q, docs in qrels.items() if any(r > 0 for r in docs.values())]
        held = {q for q in qids if is_held_out(q, job.holdout_fraction, job.seed)}
        if job.max_queries:
            from types import SimpleNamespace

            from ..training.holdout import limit_queries

            rest = [q for q in qids if q not in held]
            chosen = {e.qid for e in limit_queries([SimpleNamespace(qid=q) for q in rest], job.max_queries, job.seed)}
            qids = [q for q in qids if q in chosen or q in held]
        if pools is not None:
            missing = [q for q in qids if q not in pools]
            if missing:
                raise InputError(job.pool, None, f"query {missing[0]!r} has no candidates in the pool")
        teacher = load_teacher(job, job.labeler, corpus, settings) if group.rank == 0 else None
        group.barrier()  # rank 0 builds the teacher's index; the others then load it
        if teacher is None:
            teacher = load_teacher(job, job.labeler, corpus, settings)
        timer = Timer()
        parts = job.output.with_name(job.output.name + ".parts")
        part = Part(parts, group.rank, group.world)
        done = part.done()
        todo = [q for q in my_share(qids, group.rank, group.world) if q not in done]
        if done:
            logger.info("continuing: %d queries labelled before, %d to go", len(done), len(todo))
        try:
            with part.appender() as out, tqdm(total=len(todo), unit="query", desc=f"label {job.labeler}",
                                              disable=group.rank != 0) as bar:
                for lo in range(0, len(todo), PREPARED_QUERIES):
                    chunk = todo[lo:lo + PREPARED_QUERIES]
                    is_ranked = {qid: job.run is not None and (job.ranked == "all" or qid in held) for qid in chunk}
                    # the chunk's searches and PRF in one pass over the index; their seconds shared by its queries
                    shared = prepare_queries(job.labeler, teacher, [dataset.queries[q].text for q in chunk],
                                             [is_ranked[q] for q in chunk], settings)
                    for qid in chunk:
                        positives = [d for d, r in qrels[qid].items() if r > 0]
                        bm25 = [n.docid for n in negatives[qid].negatives] if qid in negatives else []
                        before = dict(timer.seconds)
                        ranked = is_ranked[qid]
                        record, ranking = label_query(job.labeler, teacher, qid, dataset.queries[qid].text, positives,
                                                      bm25, settings, timer, pools[qid] if pools is not None else None,
                                                      ranked=ranked)
                        spent = {k: v - before.get(k, 0.0) + shared.get(k, 0.0) / len(chunk) for k, v in timer.seconds.items()}
                        # --ranked holds for every labeler: a ranking made anyway (the plain teacher's, the
                        # cross-encoder's) is dropped for the queries outside it
                        out.write(Part.line(qid, record.to_json(), ranking if ranked else [], spent))
                        out.flush()
                        bar.update(1)
        except BaseException:
            part.discard_if_empty()  # keep finished queries for a rerun, not an empty part (a full disk, say)
            raise
        group.barrier()
        if group.rank == 0:
            _finish(job, settings, dataset, teacher, list(ordered(read_parts(parts, group.world), qids)), started, group.world)
            remove_parts(parts)
        group.barrier()
    finally:
        group.close()


def _finish(job: LabelJob, settings: LabelSettings, dataset, teacher, entries, started: float, processes: int) -> None:
    """The labels file (in query order), the labeler's ranking and the meta, from every rank's labelled queries."""
    from .labels import write_label_lines

    seconds = {"teacher_training": _training_seconds(job), "index": getattr(teacher, "index_seconds", 0.0), "prf": 0.0, "scoring": 0.0}
    for e in entries:
        for k, v in e["seconds"].items():
            seconds[k] = seconds.get(k, 0.0) + v
    write_label_lines([e["record"] for e in entries], job.output)
    ranking_run = {e["qid"]: [ScoredDoc(d, s) for d, s in e["ranking"]] for e in entries if e["ranking"]}
    if job.run and ranking_run:
        write_run(ranking_run, job.run, tag=job.labeler)
    meta = {"labeler": job.labeler, "teacher": str(job.teacher) if job.teacher else None,
            "teacher_kind": getattr(teacher, "kind", None), "dataset": str(dataset.path), "split": job.split,
            "queries": len(entries), "settings": dataclasses.asdict(settings),
            "pool": str(job.pool) if job.pool else None,
            "seconds": {k: round(v, 2) for k, v in seconds.items()},
            "teacher_cost_seconds": round(sum(seconds.values()), 2),
            "index_reused": getattr(teacher, "reused_index", None), "first_stage": first_stage_meta(teacher),
            "processes": processes,
            "wall_seconds": round(time.perf_counter() - started, 2), "machine": platform.machine(), "device": job.device}
    with atomic_output(meta_path(job.output)) as tmp:
        tmp.write_text(json.dumps(meta, indent=1))
    logger.info("labelled %d queries with %s; teacher cost %.1f s", len(entries), job.labeler, meta["teacher_cost_seconds"])
