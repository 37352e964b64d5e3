"""ONNX export of a dense model: parity with the torch encoder and CPU speed, passages and queries.

Copies the model folder (default: MiniLM as shipped) into the workdir, exports it with
``python -m pyserini_ckd.export --onnx``, then on this machine:

- passages: the first N SciFact passages (default 1,000; title and text, 256 tokens, batch 32), encoded by
  the torch encoder in fp32, by the torch encoder with ``--precision auto`` (bf16 autocast where the CPU has
  native bf16) and by onnxruntime (fp32); seconds and passages/s (model loading excluded), and the smallest
  and mean cosine of the ONNX vectors to torch fp32;
- queries: latency per query at batch 1 over the split's judged queries (default SciFact test), torch
  fp32 against onnxruntime, median and 95th percentile in milliseconds.

    .venv/bin/python benchmarks/onnx_speed.py [--model minilm] [--passages 1000] [--workdir work/onnx]

Writes ``WORKDIR/onnx_speed.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from pyserini_ckd import export as export_cli
from pyserini_ckd.data.datasets import resolve_dataset
from pyserini_ckd.dense.encoder import DenseEncoder
from pyserini_ckd.dense.models import resolve_model
from pyserini_ckd.dense.onnx_encoder import OnnxEncoder


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="minilm")
    p.add_argument("--dataset", default="scifact")
    p.add_argument("--split", default="test")
    p.add_argument("--passages", type=int, default=1000)
    p.add_argument("--workdir", type=Path, default=Path("work/onnx"))
    args = p.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    model_dir = args.workdir / "model"
    if model_dir.exists():
        shutil.rmtree(model_dir)
    shutil.copytree(resolve_model(args.model), model_dir)
    DenseEncoder.load(model_dir).save(model_dir)  # writes pyserini_ckd.json beside a plain sentence-transformers folder
    export_cli.main(["--onnx", str(model_dir)])

    dataset = resolve_dataset(args.dataset)
    docs = [d.contents for _, d in zip(range(args.passages), dataset.iter_corpus())]
    queries = [q.text for q in dataset.split_queries(args.split).values()]
    torch_model, onnx_model = DenseEncoder.load(model_dir), OnnxEncoder(model_dir, threads=torch.get_num_threads())

    def timed(fn):
        start = time.perf_counter()
        out = fn()
        return out, time.perf_counter() - start

    fp32, t_fp32 = timed(lambda: torch_model.encode(docs, kind="passage", batch_size=32, precision="fp32"))
    auto, t_auto = timed(lambda: torch_model.encode(docs, kind="passage", batch_size=32, precision="auto"))
    onnx, t_onnx = timed(lambda: onnx_model.encode(docs, kind="passage", batch_size=32))
    cos = (fp32 * onnx).sum(1) / np.linalg.norm(fp32, axis=1) / np.linalg.norm(onnx, axis=1)

    def latencies(encode):
        encode(queries[:5])  # warm-up
        out = []
        for q in queries:
            start = time.perf_counter()
            encode([q])
            out.append(1000 * (time.perf_counter() - start))
        return out

    lat_torch = latencies(lambda q: torch_model.encode(q, kind="query", precision="fp32"))
    lat_onnx = latencies(lambda q: onnx_model.encode(q, kind="query"))
    q_cos = min(float((torch_model.encode([q], kind="query", precision="fp32")[0]
                       * onnx_model.encode([q], kind="query")[0]).sum()) for q in queries[:100])

    def pct(values, q):
        return round(float(np.percentile(values, q)), 2)

    result = {
        "model": args.model, "passages": len(docs), "queries": len(queries), "threads": torch.get_num_threads(),
        "passage_seconds": {"torch_fp32": round(t_fp32, 2), "torch_auto": round(t_auto, 2), "onnxruntime": round(t_onnx, 2)},
        "passages_per_s": {"torch_fp32": round(len(docs) / t_fp32, 1), "torch_auto": round(len(docs) / t_auto, 1),
                           "onnxruntime": round(len(docs) / t_onnx, 1)},
        "query_ms_median": {"torch_fp32": round(statistics.median(lat_torch), 2), "onnxruntime": round(statistics.median(lat_onnx), 2)},
        "query_ms_p95": {"torch_fp32": pct(lat_torch, 95), "onnxruntime": pct(lat_onnx, 95)},
        "passage_cosine_min": round(float(cos.min()), 6), "passage_cosine_mean": round(float(cos.mean()), 6),
        "query_cosine_min_first_100": round(q_cos, 6),
        "onnx_file_mb": round((model_dir / "onnx" / "model.onnx").stat().st_size / 1e6, 1),
    }
    (args.workdir / "onnx_speed.json").write_text(json.dumps(result, indent=1))
    print("| encoder | passages/s | query latency, batch 1 (median / p95 ms) |")
    print("|---|---|---|")
    print(f"| torch fp32 | {result['passages_per_s']['torch_fp32']} | {result['query_ms_median']['torch_fp32']} / {result['query_ms_p95']['torch_fp32']} |")
    print(f"| torch auto (bf16 passages here) | {result['passages_per_s']['torch_auto']} | |")
    print(f"| onnxruntime fp32 | {result['passages_per_s']['onnxruntime']} | {result['query_ms_median']['onnxruntime']} / {result['query_ms_p95']['onnxruntime']} |")
    print(f"cosine ONNX vs torch fp32: passages min {result['passage_cosine_min']} mean {result['passage_cosine_mean']}; "
          f"queries min {result['query_cosine_min_first_100']}")


if __name__ == "__main__":
    main()
