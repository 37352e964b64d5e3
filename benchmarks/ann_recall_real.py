"""The approximate first stage on a real teacher index: recall of its top 100 against exact search.

    python benchmarks/ann_recall_real.py --index W/labels/late-interaction.token-index --teacher W/models/teacher-li \
        --dataset scifact [--split train] [--queries 100] [--ncells 4 8 16] [--ndocs 4096] [--nexact 512] \
        [--ndecompress none 4096] [--residual-bits 2] [--output W/ann_recall.json]

Builds the centres and lists (``ivf/``) in a copy of the index (the original is left alone), encodes the
split's first ``--queries`` judged queries with the teacher, and reports for each (``--ncells``,
``--ndocs``, ``--nexact``) the recall of the approximate top 100 against the exact top 100, the share of queries whose
exact top 1 is found first, and the milliseconds a query of each path (the exact one in memory). ``--ndecompress``
(``none``: no such stage; ``auto``, the default: sized to ``ndocs``, none below 32,768) adds PLAID's decompression stage: that many documents kept by the full interaction, their
MaxSim from ``--residual-bits`` residual codes (built on first use, timed apart) picking the ``nexact`` scored exactly.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from label_scale import none_or_int  # benchmarks/ is the script's folder


def main(argv=None) -> dict:
    from pyserini_ckd.data.datasets import resolve_dataset
    from pyserini_ckd.teacher.late_interaction import LateInteractionEncoder
    from pyserini_ckd.teacher.centroid_index import Approximate, build_centroid_index
    from pyserini_ckd.teacher.token_index import TokenIndex

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--teacher", type=Path, required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--split", default="train")
    p.add_argument("--queries", type=int, default=100)
    p.add_argument("--ncells", type=int, nargs="+", default=[4, 8, 16])
    p.add_argument("--ndocs", type=int, nargs="+", default=[None], help="default: sized to the collection")
    p.add_argument("--nexact", type=int, nargs="+", default=[None], help="default: sized to ndocs")
    p.add_argument("--ndecompress", type=none_or_int, nargs="+", default=[None])
    p.add_argument("--residual-bits", type=int, default=2)
    p.add_argument("--output", type=Path)
    args = p.parse_args(argv)
    dataset = resolve_dataset(args.dataset)
    queries = list(dataset.split_queries(args.split).values())[:args.queries]
    teacher = LateInteractionEncoder.load(args.teacher)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "index"
        shutil.copytree(args.index, copy)
        index = TokenIndex.load(copy)
        started = time.perf_counter()
        ivf = build_centroid_index(index)
        build = time.perf_counter() - started
        vectors = [teacher.encode_queries([q.text])[0].cpu() for q in queries]
        started = time.perf_counter()
        exact = [[d for d, _ in index.search(v, 100)] for v in vectors]
        exact_ms = 1000 * (time.perf_counter() - started) / len(vectors)
        rows, residual_build = [], None
        for ncells, ndocs, nexact, ndecompress in itertools.product(args.ncells, args.ndocs, args.nexact, args.ndecompress):
            settings = Approximate(ncells=ncells, ndocs=ndocs, nexact=nexact, ndecompress=ndecompress,
                                   residual_bits=args.residual_bits).sized(index.num_docs)
            ndocs, nexact, ndecompress = settings.ndocs, settings.nexact, settings.ndecompress or None
            if ndecompress is not None and residual_build is None:  # built once, timed apart from the searches
                started = time.perf_counter()
                index.residual_codes(args.residual_bits)
                residual_build = round(time.perf_counter() - started, 1)
            started = time.perf_counter()
            approx = [[d for d, _ in index.search(v, 100, approximate=settings)] for v in vectors]
            ms = 1000 * (time.perf_counter() - started) / len(vectors)
            rows.append({"ncells": ncells, "ndocs": ndocs, "nexact": nexact, "ndecompress": ndecompress,
                         "residual_bits": args.residual_bits if ndecompress is not None else None,
                         "recall@100": round(float(np.mean([len(set(a) & set(e)) / len(e) for a, e in zip(approx, exact)])), 4),
                         "top1_found": round(float(np.mean([bool(a) and a[0] == e[0] for a, e in zip(approx, exact)])), 4),
                         "ms_per_query": round(ms, 1)})
    out = {"index": str(args.index), "token_vectors": int(index.tokens.shape[0]), "docs": index.num_docs,
           "queries": len(vectors), "centroids": ivf.meta["centroids"], "ivf_build_seconds": round(build, 1),
           "residual_build_seconds": residual_build, "ms_per_query_exact": round(exact_ms, 1), "approx": rows}
    if args.output:
        args.output.write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
