"""``python -m pyserini_ckd.search``: BM25, dense or hybrid runs over a split's judged queries (or a topics file), to TREC.

- ``--bm25 INDEX``: Pyserini's LuceneSearcher (BM25, k1 0.9, b 0.4 by default);
- ``--dense INDEX [--encoder MODEL]``: Pyserini's FaissSearcher with pyserini_ckd's query encoder (the
  encoder defaults to the model recorded in the index); index and encoder are checked first;
- both: fused with ``--fusion linear`` (Pyserini's HybridSearcher formula, ``--alpha``,
  ``--normalization``) or ``--fusion rrf`` (``--rrf-k``); ``--tune-on SPLIT`` picks alpha (or k) on that
  split's judged queries, never on a test split.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Dict, Optional, Sequence

from .atomic import atomic_output, prepare_parent
from .cli import non_negative_float, positive_int, run_cli
from .data.datasets import Dataset, resolve_dataset
from .data.records import Query, Run
from .data.runs import write_run
from .data.topics import read_queries
from .errors import ConfigError
from .fusion import FUSIONS, FusionConfig, fuse

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split(":", 1)[1].strip(), formatter_class=argparse.RawDescriptionHelpFormatter)
    q = p.add_argument_group("queries")
    q.add_argument("--dataset", help="dataset folder or name; queries are the split's judged queries")
    q.add_argument("--split", default="test")
    q.add_argument("--topics", type=Path, help="a topics file (TSV 'qid<TAB>text' or BEIR queries.jsonl) instead")
    s = p.add_argument_group("bm25")
    s.add_argument("--bm25", type=Path, metavar="INDEX", help="Lucene index (from pyserini_ckd.index)")
    s.add_argument("--k1", type=non_negative_float, default=0.9)
    s.add_argument("--b", type=non_negative_float, default=0.4)
    d = p.add_argument_group("dense")
    d.add_argument("--dense", type=Path, metavar="INDEX", help="dense index (from pyserini_ckd.encode)")
    d.add_argument("--encoder", help="model directory or 'minilm' (default: the index's model)")
    d.add_argument("--device", default="cpu")
    d.add_argument("--query-batch-size", type=positive_int, default=64)
    f = p.add_argument_group("fusion (with both --bm25 and --dense)")
    f.add_argument("--fusion", choices=sorted(FUSIONS), default="linear")
    f.add_argument("--alpha", type=non_negative_float, default=0.1, help="linear: weight of BM25 (of dense with --weight-on-dense)")
    f.add_argument("--normalization", action="store_true", help="linear: min-max centre each list first")
    f.add_argument("--weight-on-dense", action="store_true")
    f.add_argument("--rrf-k", type=non_negative_float, default=60.0)
    f.add_argument("--tune-on", metavar="SPLIT", help="pick alpha (or rrf-k) on this split's judged queries")
    f.add_argument("--tune-significance", type=float, metavar="P",
                   help="with --tune-on: keep --alpha (or --rrf-k) unless the best value beats it with paired t-test p < P")
    o = p.add_argument_group("output")
    o.add_argument("--output", type=Path, required=True, help="TREC run file to write")
    o.add_argument("--hits", type=positive_int, default=1000)
    o.add_argument("--threads", type=positive_int, default=1)
    o.add_argument("--tag", default=None, help="run tag (default: the system's name)")
    return p


def load_topics(args: argparse.Namespace, dataset: Optional[Dataset], split: Optional[str] = None) -> Dict[str, Query]:
    if args.topics and split is None:
        return read_queries(args.topics)
    if dataset is None:
        raise ConfigError("give --dataset (with --split) or --topics")
    return dataset.split_queries(split or args.split)


class _Systems:
    """Opens each searcher once and runs any set of queries through it."""

    def __init__(self, args: argparse.Namespace) -> None:
        from .dense.search import DenseSearchConfig, open_dense_searcher
        from .lucene.search import BM25Config, open_searcher

        self.args = args
        self.bm25 = self.dense = None
        if args.bm25:
            self.bm25_config = BM25Config(hits=args.hits, k1=args.k1, b=args.b, threads=args.threads)
            self.bm25 = open_searcher(args.bm25, self.bm25_config)
        if args.dense:
            self.dense_config = DenseSearchConfig(hits=args.hits, batch_size=args.query_batch_size,
                                                  threads=args.threads, device=args.device)
            self.dense = open_dense_searcher(args.dense, args.encoder, self.dense_config)

    def runs(self, queries: Dict[str, Query]):
        from .dense.search import dense_search
        from .lucene.search import search_with

        sparse = search_with(self.bm25, queries, self.bm25_config) if self.bm25 else None
        dense = dense_search(self.dense, queries, self.dense_config) if self.dense else None
        return sparse, dense


def _run(args: argparse.Namespace) -> None:
    if not (args.bm25 or args.dense):
        raise ConfigError("give --bm25 INDEX, --dense INDEX, or both")
    prepare_parent(args.output)  # fail before searching if the run cannot be written
    hybrid = bool(args.bm25 and args.dense)
    fusion = FusionConfig(method=args.fusion, alpha=args.alpha, normalization=args.normalization,
                          weight_on_dense=args.weight_on_dense, rrf_k=args.rrf_k, hits=args.hits)
    if args.tune_on:
        if not hybrid:
            raise ConfigError("--tune-on needs both --bm25 and --dense")
        if args.tune_significance is not None and not 0 < args.tune_significance < 1:
            raise ConfigError(f"--tune-significance must be between 0 and 1, got {args.tune_significance}")
        if args.tune_on.startswith("test") or args.tune_on == args.split:
            raise ConfigError(f"--tune-on {args.tune_on}: tuning on a test (or the evaluated) split is not allowed")
        if not args.dataset:
            raise ConfigError("--tune-on needs --dataset")
    dataset = resolve_dataset(args.dataset) if args.dataset else None  # resolved once: queries are read once
    queries = load_topics(args, dataset)
    systems = _Systems(args)
    tuning = None
    if args.tune_on:
        from .hybrid import tune_fusion

        tune_queries = load_topics(args, dataset, split=args.tune_on)
        t_sparse, t_dense = systems.runs(tune_queries)
        fusion, table = tune_fusion(t_dense, t_sparse, dataset.qrels(args.tune_on), fusion, significance=args.tune_significance)
        tuning = {"split": args.tune_on, "queries": len(tune_queries), "grid": table}
    sparse, dense = systems.runs(queries)
    if hybrid:
        run: Run = fuse(dense, sparse, fusion)
        tag = args.tag or f"hybrid-{fusion.method}"
    else:
        run = sparse if sparse is not None else dense
        tag = args.tag or ("bm25" if sparse is not None else "dense")
    write_run(run, args.output, tag=tag)
    if hybrid:
        with atomic_output(args.output.with_name(args.output.name + ".fusion.json")) as tmp:
            tmp.write_text(json.dumps({"fusion": fusion.__dict__, "tuning": tuning}, indent=1))
        logger.info("fusion: %s", fusion)
    logger.info("wrote %d queries to %s", len(run), args.output)


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_cli("pyserini_ckd.search", build_parser, _run, argv)


if __name__ == "__main__":
    main()
