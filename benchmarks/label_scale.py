"""The teacher's token index at scale, on synthetic token vectors: build, memory, disk, exact vs approximate search.

    python benchmarks/label_scale.py --passages N --workdir W [--queries 20] [--ann-tokens 256] [--exact-queries 5]

No model is needed. Each passage gets a length drawn from a log-normal (median 60 tokens, cut to 8..180,
MS MARCO passages under ColBERT's 180-token limit) and, per token, a vocabulary id from a Zipf law over
30,000 ids; its vector is that id's random unit centre plus noise (sigma 0.35 a dimension, renormalised),
so vectors cluster by token as real ones do. 128 dimensions, float16 on disk, written through the
streaming :class:`~pyserini_ckd.teacher.token_index.TokenIndexWriter`. Each query plants one passage:
its 32 vectors are that passage's tokens (drawn with replacement) plus noise, so the planted passage
should rank first.

Measured, in one process: index build seconds (vectors written) and ANN build seconds (IVF over the
token vectors, PQ codes from 1 M vectors; :meth:`TokenIndex.build_ann`), peak resident memory, disk,
milliseconds a query for exact search (all documents, streamed from disk past 2 M vectors; on
``--exact-queries`` queries, null with 0) and for the approximate first stage (each query vector's
``--ann-tokens`` nearest token vectors, their documents re-scored exactly from disk), the recall of the
approximate top 100 against the exact top 100, and how often each finds the planted passage first.
Writes ``W/label_scale.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np

DIM, VOCAB, QUERY_LEN = 128, 30000, 32


def synthetic_index(path: Path, passages: int, seed: int = 0):
    from pyserini_ckd.teacher.token_index import TokenIndexWriter

    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((VOCAB, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    zipf = 1.0 / np.arange(1, VOCAB + 1) ** 1.05
    zipf /= zipf.sum()
    writer = TokenIndexWriter(path, DIM, VOCAB)
    for start in range(0, passages, 10000):
        n = min(10000, passages - start)
        lengths = np.clip(np.round(rng.lognormal(np.log(60), 0.5, n)), 8, 180).astype(np.int64)
        ids = rng.choice(VOCAB, size=int(lengths.sum()), p=zipf)
        vecs = centres[ids] + 0.35 * rng.standard_normal((len(ids), DIM)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        for i in range(n):
            writer.add(f"p{start + i}", vecs[bounds[i]:bounds[i + 1]], ids[bounds[i]:bounds[i + 1]])
    return writer.close({"teacher": "synthetic", "similarity": "cosine", "corpus_fingerprint": "", "teacher_fingerprint": ""})


def planted_queries(index, count: int, seed: int = 1):
    import torch

    rng = np.random.default_rng(seed)
    out = []
    for target in rng.choice(index.num_docs, count, replace=False):
        lo, hi = int(index.offsets[target]), int(index.offsets[target + 1])
        rows = np.asarray(index.tokens[lo + rng.integers(0, hi - lo, QUERY_LEN)], dtype=np.float32)
        rows += 0.2 * rng.standard_normal(rows.shape).astype(np.float32) / np.sqrt(DIM)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        out.append((int(target), torch.from_numpy(rows)))
    return out


def folder_gb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e9


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--passages", type=int, required=True)
    p.add_argument("--workdir", type=Path, required=True)
    p.add_argument("--queries", type=int, default=20)
    p.add_argument("--exact-queries", type=int, default=5, help="queries searched exactly (0: skip exact search)")
    p.add_argument("--ann-tokens", type=int, default=256)
    p.add_argument("--keep", action="store_true", help="keep the index folder (default: removed after measuring)")
    args = p.parse_args(argv)
    index_dir = args.workdir / f"tokens-{args.passages}"
    if index_dir.exists():
        shutil.rmtree(index_dir)
    started = time.perf_counter()
    index = synthetic_index(index_dir, args.passages)
    build = time.perf_counter() - started
    started = time.perf_counter()
    index.build_ann()
    ann_build = time.perf_counter() - started
    queries = planted_queries(index, args.queries)
    exact, exact_ms, approx_ms, recalls, planted = {}, [], [], [], {"exact": 0, "approx": 0}
    for target, q in queries[:args.exact_queries]:
        t = time.perf_counter()
        exact[target] = [d for d, _ in index.search(q, 100)]
        exact_ms.append(1000 * (time.perf_counter() - t))
        planted["exact"] += exact[target][0] == target
    for target, q in queries:
        t = time.perf_counter()
        found = [d for d, _ in index.search(q, 100, ann_tokens=args.ann_tokens)]
        approx_ms.append(1000 * (time.perf_counter() - t))
        planted["approx"] += bool(found) and found[0] == target
        if target in exact:
            recalls.append(len(set(found) & set(exact[target])) / len(exact[target]))
    result = {
        "passages": args.passages, "token_vectors": int(index.tokens.shape[0]), "dim": DIM,
        "build_seconds": round(build + ann_build, 1), "index_seconds": round(build, 1), "ann_seconds": round(ann_build, 1),
        "ann": "IVF-PQ 4-bit fast-scan, HNSW quantizer" if index.tokens.shape[0] >= 1_000_000 else "IVF-Flat",
        "streamed_exact": index.streamed,
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
        "disk_gb": round(folder_gb(index_dir), 3),
        "ms_per_query_exact": round(float(np.mean(exact_ms)), 1) if exact_ms else None,
        "ms_per_query_approx": round(float(np.mean(approx_ms)), 1),
        "ann_tokens": args.ann_tokens,
        "recall@100_approx_vs_exact": round(float(np.mean(recalls)), 4) if recalls else None,
        "planted_first": {"exact": f"{planted['exact']}/{len(exact_ms)}", "approx": f"{planted['approx']}/{len(queries)}"},
        "queries": {"exact": len(exact_ms), "approx": len(queries)},
    }
    args.workdir.mkdir(parents=True, exist_ok=True)
    (args.workdir / "label_scale.json").write_text(json.dumps(result, indent=1))
    if not args.keep:
        shutil.rmtree(index_dir)
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
