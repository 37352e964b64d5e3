"""PRF's nearest-token look-up on a streamed index with centres (``INDEX/ivf/``), cold and warm.

    python benchmarks/prf_cold.py --index W/scale/1m/tokens-1000000 [--queries 5] [--seed 1] [--no-advice]
        [--cells 1 2 4] [--codes] [--recall]

For each query, k-means centroids of 3 random documents' tokens (ColBERT-PRF's settings) look up their 10
nearest tokens in their ``--cells`` best lists (default 2; :meth:`TokenIndex.nearest_tokens`), first after
dropping the page cache (needs root; otherwise the "cold" figures are as warm as the cache is), then again
warm; each ``--cells`` value from a dropped cache. ``--no-advice`` reads the probed rows without
``MADV_WILLNEED`` (each page faults on its own through the ``MADV_RANDOM`` map). ``--codes`` measures each
``--cells`` value again with the probed tokens ranked from their residual codes in list order
(``ivf/residuals/``, which must exist: ``label_scale.py --ndecompress`` builds them), the best ``--rescore``
R x 10 re-scored exactly (0: none; default ``PRF_RESCORE``; keys ``N+codes+rescoreR``). ``--recall`` also finds the
exact 10 nearest tokens of every centroid (a scan of the whole file, :meth:`TokenIndex.nearest_tokens_exact`)
and reports the share each ``--cells`` found. Prints one JSON line: per ``--cells`` value the cold and warm
seconds a query (and the recall).
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from pathlib import Path

import numpy as np

from prf_approx import variant_key, variants  # benchmarks/ is the script's folder


def main(argv=None) -> dict:
    import pyserini_ckd.teacher.token_index as token_index
    from pyserini_ckd.teacher.prf import PRFConfig, feedback_centroids

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--queries", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-advice", action="store_true")
    p.add_argument("--cells", type=int, nargs="+", default=[2], help="lists each centroid probes")
    p.add_argument("--recall", action="store_true", help="also the share of the exact nearest tokens found")
    p.add_argument("--codes", action="store_true", help="also rank the probed tokens from their residual codes")
    p.add_argument("--rescore", type=int, nargs="+", default=None,
                   help="with --codes: the best R x 10 by their codes re-scored exactly (0: none; default PRF_RESCORE)")
    args = p.parse_args(argv)
    if args.no_advice:
        token_index.will_need_rows = lambda *a, **k: 0

    def load(path):
        return token_index.TokenIndex.load(path, in_memory_tokens=0)  # streamed: the look-up goes through the lists

    idx = load(args.index)
    if idx.centroid_index(build=False) is None:
        raise SystemExit(f"{args.index}: no ivf/ (build it with benchmarks/label_scale.py --keep)")
    if args.codes and idx.centroid_index(build=False).residuals is None:
        raise SystemExit(f"{args.index}: no ivf/residuals/ (build them with benchmarks/label_scale.py --reuse --ndecompress N)")
    rng = np.random.default_rng(args.seed)
    sets = [feedback_centroids(idx, rng.choice(idx.num_docs, 3, replace=False).tolist(), PRFConfig())
            for _ in range(args.queries)]
    result = {"index": str(args.index), "advice": not args.no_advice, "queries": args.queries, "cells": {}}
    k = PRFConfig().nearest
    found = {}
    del idx  # each --cells value maps the file afresh: the page cache keeps what a live mapping holds
    import pyserini_ckd.teacher.centroid_index as centroid_index

    runs = variants(args.cells, args.codes, args.rescore)
    for cells, rescore in runs:
        codes = rescore is not None
        if codes:
            centroid_index.PRF_RESCORE = rescore
        gc.collect()
        idx = load(args.index)
        dropped = drop_page_cache()
        entry = {"page_cache_dropped": dropped}
        for name in ("cold", "warm"):
            times = []
            got = []
            for c in sets:
                start = time.perf_counter()
                got.append(idx.nearest_tokens(c, k, cells, codes))
                times.append(time.perf_counter() - start)
            found[(cells, rescore)] = got
            entry[f"seconds_{name}"] = [round(t, 2) for t in times]
            entry[f"mean_seconds_{name}"] = round(float(np.mean(times)), 2)
        result["cells"][variant_key(cells, rescore)] = entry
        del idx
    if args.recall:
        import torch  # one scan of the whole file for every set's centroids

        exact = load(args.index).nearest_tokens_exact(torch.cat(sets), k).split([len(c) for c in sets])
        for cells, rescore in runs:
            hits = sum(len(set(f.tolist()) & set(e.tolist())) for got, ex in zip(found[(cells, rescore)], exact)
                       for f, e in zip(got, ex))
            result["cells"][variant_key(cells, rescore)][f"recall@{k}"] = round(hits / sum(e.numel() for e in exact), 4)
    print(json.dumps(result))
    return result


def drop_page_cache() -> bool:
    """Drop the page cache (root only); False where it could not."""
    try:
        Path("/proc/sys/vm/drop_caches").write_text("1\n")
        return True
    except OSError:
        return False


if __name__ == "__main__":
    main()
