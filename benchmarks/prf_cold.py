"""PRF's nearest-token look-up on a streamed index with centres (``INDEX/ivf/``), cold and warm.

    python benchmarks/prf_cold.py --index W/scale/1m/tokens-1000000 [--queries 5] [--seed 1] [--no-advice]

For each query, k-means centroids of 3 random documents' tokens (ColBERT-PRF's settings) look up their 10
nearest tokens in their 2 best lists (:meth:`TokenIndex.nearest_tokens`), first after dropping the page cache
(needs root; otherwise the "cold" figures are as warm as the cache is), then again warm. ``--no-advice``
reads the probed rows without ``MADV_WILLNEED`` (each page faults on its own through the ``MADV_RANDOM`` map).
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> dict:
    import pyserini_ckd.teacher.token_index as token_index
    from pyserini_ckd.teacher.prf import PRFConfig, feedback_centroids

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--queries", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-advice", action="store_true")
    args = p.parse_args(argv)
    if args.no_advice:
        token_index.will_need_rows = lambda *a, **k: 0
    idx = token_index.TokenIndex.load(args.index)
    idx.in_memory_tokens = 0  # streamed: the look-up goes through the lists
    if idx.centroid_index(build=False) is None:
        raise SystemExit(f"{args.index}: no ivf/ (build it with benchmarks/label_scale.py --keep)")
    rng = np.random.default_rng(args.seed)
    sets = [feedback_centroids(idx, rng.choice(idx.num_docs, 3, replace=False).tolist(), PRFConfig())
            for _ in range(args.queries)]
    try:
        Path("/proc/sys/vm/drop_caches").write_text("1\n")
        dropped = True
    except OSError:
        dropped = False
    result = {"index": str(args.index), "advice": not args.no_advice, "page_cache_dropped": dropped}
    for name in ("cold", "warm"):
        times = []
        for c in sets:
            start = time.perf_counter()
            idx.nearest_tokens(c, PRFConfig().nearest)
            times.append(time.perf_counter() - start)
        result[f"seconds_{name}"] = [round(t, 2) for t in times]
        result[f"mean_seconds_{name}"] = round(float(np.mean(times)), 2)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
