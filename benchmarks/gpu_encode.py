"""Passage encoding on a GPU: passages per second, and the share of the card's measured matrix throughput.

Runs without Faiss, Pyserini or Java (the GPU image has only torch and transformers):

    python3 benchmarks/gpu_encode.py --model DIR --corpus corpus.jsonl [--passages 1000] [--max-length 256]

1. Measures the card's dense bf16 matrix rate: an 8192^3 product, mean of 10 after 3 warm-ups.
2. Encodes the first N passages with ``DenseEncoder.encode`` (bf16 autocast, length-sorted token-budget
   batches), best of 5 timed passes after a warm-up, at batch 32 (as the CPU benchmark) and with a large
   token budget.
3. Counts the FLOPs a passage of n tokens costs in a BERT encoder of L layers, width d, feed-forward f:
   2 L n (4 d^2 + 2 d f)  (Q, K, V, O projections and the feed-forward)  +  4 L n^2 d  (QK^T and AV),
   and divides the achieved FLOP/s by the measured matrix rate.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pyserini_ckd.dense import DenseEncoder  # noqa: E402


def matmul_tflops(n: int = 8192) -> float:
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(10):
        a @ b
    end.record()
    torch.cuda.synchronize()
    return 2 * n ** 3 * 10 / (start.elapsed_time(end) / 1e3) / 1e12


def passage_flops(lengths, cfg) -> float:
    L, d, f = cfg.num_hidden_layers, cfg.hidden_size, cfg.intermediate_size
    return float(sum(2 * L * n * (4 * d * d + 2 * d * f) + 4 * L * n * n * d for n in lengths))


def timed_encode(model, texts, repeats=5, **kw) -> float:
    model.encode(texts[:256], **kw)
    best = float("inf")
    for _ in range(repeats):
        torch.cuda.synchronize()
        t = time.perf_counter()
        model.encode(texts, **kw)
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--corpus", type=Path, required=True)
    p.add_argument("--passages", type=int, default=1000)
    p.add_argument("--max-length", type=int, default=256)
    args = p.parse_args()
    texts = []
    with open(args.corpus) as f:
        for line in f:
            doc = json.loads(line)
            texts.append(f"{doc.get('title', '')} {doc.get('text', '')}".strip())
            if len(texts) >= args.passages:
                break
    model = DenseEncoder.load(args.model, device="cuda")
    model.backbone.float()  # fp32 master weights, bf16 autocast as the CLI does
    peak = matmul_tflops()
    lengths = [len(x) for x in model.tokenize(texts, "passage", args.max_length)]
    flops = passage_flops(lengths, model.backbone.config)
    result = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "passages": len(texts),
              "mean_tokens": sum(lengths) / len(lengths), "gflops_per_passage": flops / len(texts) / 1e9,
              "measured_bf16_matmul_tflops": round(peak, 1)}
    for name, kw in {"batch32": dict(batch_size=32), "budget64k": dict(batch_size=256, max_tokens=65536)}.items():
        seconds = timed_encode(model, texts, max_length=args.max_length, precision="bf16", **kw)
        result[name] = {"seconds": round(seconds, 4), "passages_per_s": round(len(texts) / seconds, 1),
                        "achieved_tflops": round(flops / seconds / 1e12, 2),
                        "share_of_matmul_peak": round(flops / seconds / 1e12 / peak, 4)}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
