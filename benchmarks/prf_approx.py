"""PRF's nearest tokens from the centres' lists against the exact ones, on a real teacher index.

    python benchmarks/prf_approx.py --index W/labels/late-interaction.token-index --teacher W/models/TEACHER \\
        --run W/runs/labeler-collective.scifact.train.trec [--dataset scifact] [--cells 1 2 4 8] [--codes [--residual-bits 2]]

Where the index is streamed (past 2 M token vectors) ColBERT-PRF looks up each centroid's nearest tokens in its
``prf_cells`` best lists (``INDEX/ivf/``; default 2) instead of over every token. This measures what that costs
the expansion, on the queries of ``--run`` (the held-out train queries a pipeline run ranked; no model trained on
them): their exact first-stage top 3 are the feedback, and the same centroids look up their 10 nearest tokens
exactly (in memory) and through the lists with each ``--cells``. Reports per ``--cells`` value: recall@10 of the
nearest tokens, the share of expansion token ids that are the exact expansion's, the share of queries whose
expansion is identical, the seconds a query of the look-up (page cache warm), and the nDCG@10 of the expanded
query's exact ranking next to the exact-PRF one (paired t-test). With ``--codes`` each ``--cells`` value is
measured again with the probed tokens ranked from their residual codes in list order (``ivf/residuals/``,
built where missing with ``--residual-bits``), the best ``--rescore`` R x 10 re-scored exactly (0: none; keys
``N+codes+rescoreR``). Builds ``ivf/`` where missing. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def variants(cells, codes: bool, rescore):
    """The look-ups to run: (lists probed, None) from the vectors for each ``cells``, and with ``codes`` (lists, R)
    from the residual codes for each R of ``rescore`` (default: the label job's ``PRF_RESCORE``)."""
    from pyserini_ckd.teacher.centroid_index import PRF_RESCORE

    rescores = rescore if rescore is not None else [PRF_RESCORE]
    return [(c, None) for c in cells] + ([(c, r) for c in cells for r in rescores] if codes else [])


def variant_key(cells: int, rescore) -> str:
    """The result key of a look-up: ``N`` from the vectors, ``N+codes+rescoreR`` from the codes."""
    return str(cells) if rescore is None else f"{cells}+codes+rescore{rescore}"


def main(argv=None) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import torch

    from pyserini_ckd.data.datasets import resolve_dataset
    from pyserini_ckd.data.records import ScoredDoc
    from pyserini_ckd.data.runs import read_run
    from pyserini_ckd.metrics import evaluate_run, paired_t_test
    from pyserini_ckd.teacher.late_interaction import LateInteractionEncoder
    from pyserini_ckd.teacher.prf import PRFConfig, choose_expansion, feedback_centroids
    from pyserini_ckd.teacher.token_index import TokenIndex

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--teacher", type=Path, required=True)
    p.add_argument("--run", type=Path, required=True, help="a TREC run whose queries are measured")
    p.add_argument("--dataset", default="scifact")
    p.add_argument("--split", default="train")
    p.add_argument("--cells", type=int, nargs="+", default=[1, 2, 4, 8])
    p.add_argument("--codes", action="store_true", help="also rank the probed tokens from their residual codes")
    p.add_argument("--rescore", type=int, nargs="+", default=None,
                   help="with --codes: the best R x 10 by their codes re-scored exactly (0: none; default PRF_RESCORE)")
    p.add_argument("--residual-bits", type=int, default=2)
    args = p.parse_args(argv)

    ds = resolve_dataset(args.dataset)
    measured = read_run(args.run)
    qids = sorted(measured)
    qrels = {q: r for q, r in ds.qrels(args.split).items() if q in measured}
    encoder = LateInteractionEncoder.load(args.teacher)
    idx = TokenIndex.load(args.index)
    ivf = idx.centroid_index(build=True)
    if args.codes:
        idx.residual_codes(args.residual_bits)
    config = PRFConfig()
    k = config.nearest
    vectors = [v for lo in range(0, len(qids), 32)
               for v in encoder.encode_queries([ds.queries[q].text for q in qids[lo:lo + 32]]).cpu()]
    feedback = [[d for d, _ in r[:config.fb_docs]] for r in idx.search_many(vectors, config.fb_docs)]
    centroids = [feedback_centroids(idx, fb, config) for fb in feedback]
    exact_near = idx.nearest_tokens_many(centroids, k)

    def expansions(nearest):
        return [choose_expansion(idx, encoder.tokenizer, c, n, config, encoder.special_ids)
                for c, n in zip(centroids, nearest)]

    def ranking(found):
        pairs = [(q, None) if e.vectors.shape[0] == 0 else
                 (torch.cat([q, e.vectors]), torch.cat([torch.ones(q.shape[0]), e.weights]))
                 for q, e in zip(vectors, found)]
        ranked = idx.search_many([v for v, _ in pairs], 10, [w for _, w in pairs])
        return {q: [ScoredDoc(idx.docids[d], s) for d, s in r] for q, r in zip(qids, ranked)}

    def per_query(run):
        return evaluate_run(run, qrels, ["nDCG@10"]).per_query["nDCG@10"]

    exact_exp = expansions(exact_near)
    exact_per_query = per_query(ranking(exact_exp))
    result = {"index": str(args.index), "queries": len(qids), "centroids_per_query": config.fb_clusters,
              "centres": ivf.meta["centroids"],
              "exact_nDCG@10": round(sum(exact_per_query.values()) / len(exact_per_query), 4), "cells": {}}
    import pyserini_ckd.teacher.centroid_index as centroid_index

    for cells, rescore in variants(args.cells, args.codes, args.rescore):
        codes = rescore is not None
        if codes:
            centroid_index.PRF_RESCORE = rescore
        start = time.perf_counter()
        near = [ivf.nearest_tokens(c, k, idx.tokens, cells, codes=codes) for c in centroids]
        seconds = (time.perf_counter() - start) / len(qids)
        hits = sum(len(set(a.tolist()) & set(b.tolist())) for n, e in zip(near, exact_near) for a, b in zip(n, e))
        found = expansions(near)
        ids = [(set(f.token_ids), set(e.token_ids)) for f, e in zip(found, exact_exp)]
        approx_per_query = per_query(ranking(found))
        result["cells"][variant_key(cells, rescore)] = {
            "recall@10": round(hits / sum(e.numel() for e in exact_near), 4),
            "expansion_ids_shared": round(sum(len(a & b) for a, b in ids) / max(1, sum(len(b) for _, b in ids)), 4),
            "queries_same_expansion": round(sum(a == b for a, b in ids) / len(ids), 4),
            "seconds_per_query_warm": round(seconds, 4),
            "nDCG@10": round(sum(approx_per_query.values()) / len(approx_per_query), 4),
            "p_vs_exact": round(paired_t_test(exact_per_query, approx_per_query), 4)}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
