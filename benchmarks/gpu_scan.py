"""The teacher's exact search held on a device, timed at growing sizes, and its projection to MS MARCO.

A synthetic token index (label_scale.py's model: lognormal lengths around 60 tokens, Zipf token ids, each
vector its token's unit centre plus noise) is made in memory on the device (no file written), held there
whole (``in_memory_tokens`` above its size), and searched as the label job searches it, in chunks of
``PREPARED_QUERIES`` queries:

- ``search_many`` of queries of 32 vectors (the plain teacher's search, k 100);
- ``search_many`` of 42 weighted vectors (a query expanded by 10 PRF embeddings);
- ``nearest_tokens_many`` of 24 vectors a query (PRF's centroids, k 10).

Writes ``OUT`` (JSON): per size the token count, seconds to prepare (the copy to the device and the scan
blocks), milliseconds a query for each search, the device memory held (bytes a token), and a linear fit of
the milliseconds against the token count, with its projection to MS MARCO's 600 million token vectors and
500,000 queries (plain + expanded search + PRF a query). The fit holds only while the matrix is resident:
the JSON says how many bytes a token needs, how many devices' memory (90% of each) 600 million tokens take,
and the hours over that many devices were the index split between them by documents (not built: torchrun's
ranks split the queries, each holding the whole index).

    python benchmarks/gpu_scan.py --device cuda --passages 30000 100000 300000 1000000 --output OUT
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from label_scale import DIM, QUERY_LEN, VOCAB, planted_queries, unit_centres
from pyserini_ckd.labeling.job import PREPARED_QUERIES
from pyserini_ckd.teacher.token_index import TokenIndex

EXPANSION, CENTROIDS = 10, 24
MSMARCO_TOKENS, MSMARCO_QUERIES = 600e6, 500e3


def synthetic(passages: int, device: torch.device, seed: int = 0, noise: float = 0.08):
    """(tokens fp16 numpy, offsets, token ids) of ``passages`` documents of label_scale.py's model (its unit
    centres, lognormal lengths, Zipf ids), the vectors generated on ``device`` (label_scale's writer is too slow
    for millions of passages in one call)."""
    g = torch.Generator(device="cpu").manual_seed(seed)
    lengths = torch.exp(np.log(60) + 0.5 * torch.randn(passages, generator=g)).round().clamp(8, 180).long()
    total = int(lengths.sum())
    centres = torch.from_numpy(unit_centres(seed)).to(device)
    zipf = 1.0 / torch.arange(1, VOCAB + 1, dtype=torch.float64) ** 1.05
    ids = torch.multinomial((zipf / zipf.sum()).float(), total, replacement=True, generator=g)
    tokens = np.empty((total, DIM), dtype=np.float16)
    for lo in range(0, total, 1 << 22):
        part = ids[lo:lo + (1 << 22)].to(device)
        v = centres[part] + noise * torch.randn(len(part), DIM, device=device)
        tokens[lo:lo + len(part)] = torch.nn.functional.normalize(v, dim=-1).half().cpu().numpy()
    offsets = np.concatenate([[0], np.cumsum(lengths.numpy())]).astype(np.int64)
    return tokens, offsets, ids.numpy().astype(np.int32)


def timed(device: torch.device, fn) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def measure(passages: int, device: torch.device, count: int) -> dict:
    tokens, offsets, ids = synthetic(passages, device)
    total = tokens.shape[0]
    with tempfile.TemporaryDirectory() as tmp:
        index = TokenIndex(Path(tmp), tokens, offsets, ids, np.zeros(VOCAB, np.int32),
                           [f"p{i}" for i in range(passages)], "cosine", device=str(device), in_memory_tokens=total + 1)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
            held_before = torch.cuda.memory_allocated()
        plain = [q for _, q in planted_queries(index, count)]  # QUERY_LEN vectors from one document's tokens
        expanded = [torch.cat([q, q[:EXPANSION] + 0.05 * torch.randn(EXPANSION, DIM)]) for q in plain]
        weights = [torch.cat([torch.ones(QUERY_LEN), torch.rand(EXPANSION) + 0.5]) for _ in plain]
        cents = [q[:CENTROIDS] for q in plain]
        prepare = timed(device, lambda: (index.search_many(plain[:1], 100), index.nearest_tokens_many(cents[:1], 10)))
        chunks = range(0, count, PREPARED_QUERIES)
        row = {"passages": passages, "tokens": total, "queries": count, "prepare_seconds": round(prepare, 2)}
        for name, fn in (("search", lambda s: index.search_many(plain[s:s + PREPARED_QUERIES], 100)),
                         ("expanded_search", lambda s: index.search_many(expanded[s:s + PREPARED_QUERIES], 100,
                                                                         weights[s:s + PREPARED_QUERIES])),
                         ("prf_nearest", lambda s: index.nearest_tokens_many(cents[s:s + PREPARED_QUERIES], 10))):
            row[f"ms_per_query_{name}"] = round(1000 * timed(device, lambda: [fn(s) for s in chunks]) / count, 3)
        if device.type == "cuda":
            row["device_bytes_per_token"] = round((torch.cuda.max_memory_allocated() - held_before) / total, 1)
        del index
    return row


def project(rows, device_gb=None) -> dict:
    """Least-squares ms = a + b * tokens of the three searches summed (a query's labelling), at 600 M tokens."""
    t = np.array([r["tokens"] for r in rows], dtype=np.float64)
    ms = np.array([r["ms_per_query_search"] + r["ms_per_query_expanded_search"] + r["ms_per_query_prf_nearest"]
                   for r in rows])
    b, a = np.polyfit(t, ms, 1) if len(rows) > 1 else (ms[0] / t[0], 0.0)
    at = a + b * MSMARCO_TOKENS
    out = {"ms_per_query_fit": {"intercept_ms": round(float(a), 3), "ms_per_million_tokens": round(float(b) * 1e6, 4)},
           "msmarco_ms_per_query": round(float(at), 1), "msmarco_hours_one_device_resident": round(float(at) * MSMARCO_QUERIES / 3.6e6, 1)}
    per_token = [r["device_bytes_per_token"] for r in rows if "device_bytes_per_token" in r]
    if per_token:
        out["msmarco_resident_gb"] = round(max(per_token) * MSMARCO_TOKENS / 1e9, 1)
        if device_gb:  # the index split by documents over enough devices to hold it (not built: ranks split queries)
            n = int(np.ceil(out["msmarco_resident_gb"] / (0.9 * device_gb)))
            out["msmarco_devices_to_hold_it"] = n
            out["msmarco_hours_over_those_devices"] = round(out["msmarco_hours_one_device_resident"] / n, 1)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--passages", type=int, nargs="+", default=[30000, 100000, 300000, 1000000])
    p.add_argument("--queries", type=int, default=128)
    p.add_argument("--output", type=Path, required=True)
    args = p.parse_args()
    device = torch.device(args.device)
    rows = []
    device_gb = torch.cuda.get_device_properties(device).total_memory / 1e9 if device.type == "cuda" else None
    for n in args.passages:  # the JSON rewritten after each size: a run stopped at its time limit keeps the sizes done
        rows.append(measure(n, device, args.queries))
        print(json.dumps(rows[-1]), flush=True)
        summary = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu", "device_gb": device_gb,
                   "torch": torch.__version__, "rows": rows, **project(rows, device_gb)}
        args.output.write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: v for k, v in summary.items() if k != "rows"}, indent=1))


if __name__ == "__main__":
    main()
