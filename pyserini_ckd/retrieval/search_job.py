"""The search job behind ``python -m pyserini_ckd.search``: BM25, dense or hybrid runs to TREC.

BM25 through Pyserini's LuceneSearcher; dense through Pyserini's FaissSearcher with pyserini_ckd's query
encoder (the encoder defaults to the model recorded in the index); both: fused (:mod:`.fusion`), the weight
chosen on a tuning split's judged queries when ``tune_on`` is given (:mod:`.fusion_tuning`), never on a test split.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

from ..atomic import atomic_output, prepare_parent
from ..data.datasets import Dataset, resolve_dataset
from ..data.records import Query, Run
from ..data.runs import write_run
from ..data.topics import read_queries
from ..errors import ConfigError
from ..jobs import non_negative_float, positive_int, setting
from .fusion import FUSIONS, FusionConfig, fuse

logger = logging.getLogger(__name__)


@dataclass
class SearchJob:
    """Which queries, which systems (BM25, dense, both), how to fuse them, where to write."""

    output: Path = setting(type=Path, group="output", help="TREC run file to write")
    dataset: Optional[str] = setting(None, group="queries", help="dataset folder or name; queries are the split's judged queries")
    split: str = setting("test", group="queries")
    topics: Optional[Path] = setting(None, type=Path, group="queries",
                                     help="a topics file (TSV 'qid<TAB>text' or BEIR queries.jsonl) instead")
    bm25: Optional[Path] = setting(None, type=Path, metavar="INDEX", group="bm25", help="Lucene index (from pyserini_ckd.index)")
    k1: float = setting(0.9, type=non_negative_float, group="bm25")
    b: float = setting(0.4, type=non_negative_float, group="bm25")
    dense: Optional[Path] = setting(None, type=Path, metavar="INDEX", group="dense", help="dense index (from pyserini_ckd.encode)")
    encoder: Optional[str] = setting(None, group="dense", help="model directory or 'minilm' (default: the index's model)")
    device: str = setting("cpu", group="dense")
    query_batch_size: int = setting(64, type=positive_int, group="dense")
    fusion: str = setting("linear", choices=sorted(FUSIONS), group="fusion (with both --bm25 and --dense)")
    alpha: float = setting(0.1, type=non_negative_float, group="fusion (with both --bm25 and --dense)",
                           help="linear: weight of BM25 (of dense with --weight-on-dense)")
    normalization: bool = setting(False, group="fusion (with both --bm25 and --dense)", help="linear: min-max centre each list first")
    weight_on_dense: bool = setting(False, group="fusion (with both --bm25 and --dense)")
    rrf_k: float = setting(60.0, type=non_negative_float, group="fusion (with both --bm25 and --dense)")
    tune_on: Optional[str] = setting(None, metavar="SPLIT", group="fusion (with both --bm25 and --dense)",
                                     help="pick alpha (or rrf-k) on this split's judged queries")
    tune_significance: Optional[float] = setting(None, type=float, metavar="P", group="fusion (with both --bm25 and --dense)",
                                                 help="with --tune-on: keep --alpha (or --rrf-k) unless the best value beats "
                                                      "it with paired t-test p < P")
    hits: int = setting(1000, type=positive_int, group="output")
    threads: int = setting(1, type=positive_int, group="output")
    tag: Optional[str] = setting(None, group="output", help="run tag (default: the system's name)")

    def __post_init__(self) -> None:
        if not (self.bm25 or self.dense):
            raise ConfigError("give --bm25 INDEX, --dense INDEX, or both")
        if self.tune_on:
            if not (self.bm25 and self.dense):
                raise ConfigError("--tune-on needs both --bm25 and --dense")
            if self.tune_significance is not None and not 0 < self.tune_significance < 1:
                raise ConfigError(f"--tune-significance must be between 0 and 1, got {self.tune_significance}")
            if self.tune_on.startswith("test") or self.tune_on == self.split:
                raise ConfigError(f"--tune-on {self.tune_on}: tuning on a test (or the evaluated) split is not allowed")
            if not self.dataset:
                raise ConfigError("--tune-on needs --dataset")


def load_topics(job: SearchJob, dataset: Optional[Dataset], split: Optional[str] = None) -> Dict[str, Query]:
    if job.topics and split is None:
        return read_queries(job.topics)
    if dataset is None:
        raise ConfigError("give --dataset (with --split) or --topics")
    return dataset.split_queries(split or job.split)


class _Systems:
    """Opens each searcher once and runs any set of queries through it."""

    def __init__(self, job: SearchJob) -> None:
        from ..dense.search import DenseSearchConfig, open_dense_searcher
        from ..lucene.search import BM25Config, open_searcher

        self.job = job
        self.bm25 = self.dense = None
        if job.bm25:
            self.bm25_config = BM25Config(hits=job.hits, k1=job.k1, b=job.b, threads=job.threads)
            self.bm25 = open_searcher(job.bm25, self.bm25_config)
        if job.dense:
            self.dense_config = DenseSearchConfig(hits=job.hits, batch_size=job.query_batch_size,
                                                  threads=job.threads, device=job.device)
            self.dense = open_dense_searcher(job.dense, job.encoder, self.dense_config)

    def runs(self, queries: Dict[str, Query]):
        from ..dense.search import dense_search
        from ..lucene.search import search_with

        sparse = search_with(self.bm25, queries, self.bm25_config) if self.bm25 else None
        dense = dense_search(self.dense, queries, self.dense_config) if self.dense else None
        return sparse, dense


def run_search(job: SearchJob) -> None:
    """Search, fuse when both systems are given (choosing the weight on ``tune_on`` when asked), write the run."""
    prepare_parent(job.output)  # fail before searching if the run cannot be written
    hybrid = bool(job.bm25 and job.dense)
    fusion = FusionConfig(method=job.fusion, alpha=job.alpha, normalization=job.normalization,
                          weight_on_dense=job.weight_on_dense, rrf_k=job.rrf_k, hits=job.hits)
    dataset = resolve_dataset(job.dataset) if job.dataset else None  # resolved once: queries are read once
    queries = load_topics(job, dataset)
    systems = _Systems(job)
    tuning = None
    if job.tune_on:
        from .fusion_tuning import tune_fusion

        tune_queries = load_topics(job, dataset, split=job.tune_on)
        t_sparse, t_dense = systems.runs(tune_queries)
        fusion, table = tune_fusion(t_dense, t_sparse, dataset.qrels(job.tune_on), fusion, significance=job.tune_significance)
        tuning = {"split": job.tune_on, "queries": len(tune_queries), "grid": table}
    sparse, dense = systems.runs(queries)
    if hybrid:
        run: Run = fuse(dense, sparse, fusion)
        tag = job.tag or f"hybrid-{fusion.method}"
    else:
        run = sparse if sparse is not None else dense
        tag = job.tag or ("bm25" if sparse is not None else "dense")
    write_run(run, job.output, tag=tag)
    if hybrid:
        with atomic_output(job.output.with_name(job.output.name + ".fusion.json")) as tmp:
            tmp.write_text(json.dumps({"fusion": fusion.__dict__, "tuning": tuning}, indent=1))
        logger.info("fusion: %s", fusion)
    logger.info("wrote %d queries to %s", len(run), job.output)
