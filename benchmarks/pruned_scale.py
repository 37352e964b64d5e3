"""The pruned centroid interaction's compute at a collection size no disk here holds (MS MARCO's, say).

    python benchmarks/pruned_scale.py --docs 8800000 --tokens 600000000 [--centroids 16384] [--repeats 4]

Builds the inverted lists' document ids in memory (random documents, every list the same length: T / C
entries) and times :meth:`~pyserini_ckd.teacher.centroid_index.CentroidIndex._pruned` for random centre
scores of 32 query vectors with the defaults sized to ``--docs`` (32 probed centres a vector). Warm: the lists'
reads from disk are not in it. With the default centres (:func:`~pyserini_ckd.teacher.centroid_index.default_centroids`,
capped at 16,384) the lists grow with the collection, and so does the per-vector pass over every document's running
maximum; ``--centroids 131072`` keeps MS MARCO's lists as long as 1 M's. Prints JSON: the settings and the seconds of each repeat (the first includes page faults).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch


def main(argv=None) -> dict:
    from pyserini_ckd.teacher.centroid_index import Approximate, CentroidIndex, default_centroids

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--docs", type=int, required=True)
    p.add_argument("--tokens", type=int, required=True)
    p.add_argument("--centroids", type=int, help="default: default_centroids of --tokens")
    p.add_argument("--query-vectors", type=int, default=32)
    p.add_argument("--repeats", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    args.centroids = args.centroids or default_centroids(args.tokens)
    rng = np.random.default_rng(args.seed)
    ivf = CentroidIndex.__new__(CentroidIndex)  # only what the pruned interaction reads: the lists' documents
    ivf.num_docs = args.docs
    ivf.offsets = np.linspace(0, args.tokens, args.centroids + 1).astype(np.int64)
    ivf.docs = np.empty(args.tokens, dtype=np.uint32)
    for lo in range(0, args.tokens, 1 << 26):
        hi = min(args.tokens, lo + (1 << 26))
        ivf.docs[lo:hi] = rng.integers(0, args.docs, hi - lo, dtype=np.uint32)
    settings = Approximate().sized(args.docs)
    seconds = []
    for _ in range(args.repeats):
        s = torch.from_numpy(rng.standard_normal((args.query_vectors, args.centroids), dtype=np.float32))
        started = time.perf_counter()
        kept = ivf._pruned(s, None, settings)
        seconds.append(round(time.perf_counter() - started, 3))
    result = {"docs": args.docs, "tokens": args.tokens, "centroids": args.centroids, "query_vectors": args.query_vectors,
              "ncells": settings.ncells, "ndocs": settings.ndocs, "kept": int(len(kept)),
              "list_entries_per_query": int(args.query_vectors * settings.ncells * args.tokens // args.centroids),
              "seconds": seconds}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
