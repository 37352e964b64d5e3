"""Encode speed: pyserini_ckd.encode against Pyserini's own encoder, same model, whole-process time.

Both commands run in turn as separate processes on the first N SciFact passages (default 1,000), maximum
length 256, batch 32, all-MiniLM-L6-v2 with mean pooling and L2 norm. Pyserini runs its
``AutoDocumentEncoder`` through ``python -m pyserini_ckd.pyserini_run pyserini.encode`` (only the Java set-up
added). The two indexes are compared vector by vector (cosine).

    .venv/bin/python benchmarks/encode_speed.py [--passages 1000] [--dataset scifact] [--workdir work/bench]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import faiss
import numpy as np

from pyserini_ckd.data.datasets import resolve_dataset
from pyserini_ckd.dense.models import minilm_path


def timed(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--dataset", default="scifact")
    p.add_argument("--passages", type=int, default=1000)
    p.add_argument("--workdir", type=Path, default=Path("work/bench"))
    args = p.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    corpus = args.workdir / f"corpus-{args.passages}.jsonl"
    with open(resolve_dataset(args.dataset).corpus_path) as src, open(corpus, "w") as out:
        for i, line in zip(range(args.passages), src):
            out.write(line)
    model = str(minilm_path())
    py = sys.executable
    pyserini_cmd = [py, "-m", "pyserini_ckd.pyserini_run", "pyserini.encode",
                    "input", "--corpus", str(corpus), "--fields", "title", "text",
                    "output", "--embeddings", str(args.workdir / "pyserini-index"), "--to-faiss",
                    "encoder", "--encoder", model, "--encoder-class", "auto", "--fields", "title", "text",
                    "--batch-size", "32", "--max-length", "256", "--dimension", "384", "--device", "cpu",
                    "--pooling", "mean", "--l2-norm"]
    ours_cmd = [py, "-m", "pyserini_ckd.encode", "input", "--corpus", str(corpus),
                "output", "--embeddings", str(args.workdir / "ckd-index"),
                "encoder", "--encoder", "minilm", "--batch-size", "32", "--max-length", "256", "--device", "cpu"]
    t_pyserini = timed(pyserini_cmd)
    t_ours = timed(ours_cmd)
    a = faiss.read_index(str(args.workdir / "pyserini-index" / "index"))
    b = faiss.read_index(str(args.workdir / "ckd-index" / "index"))
    va, vb = a.reconstruct_n(0, a.ntotal), b.reconstruct_n(0, b.ntotal)
    ids_a = (args.workdir / "pyserini-index" / "docid").read_text().split()
    ids_b = (args.workdir / "ckd-index" / "docid").read_text().split()
    assert ids_a == ids_b, "docid order differs"
    cos = (va * vb).sum(1) / (np.linalg.norm(va, axis=1) * np.linalg.norm(vb, axis=1))
    result = {"passages": args.passages, "pyserini_encode_s": round(t_pyserini, 1), "pyserini_ckd_encode_s": round(t_ours, 1),
              "speedup": round(t_pyserini / t_ours, 2), "pyserini_passages_per_s": round(args.passages / t_pyserini, 1),
              "pyserini_ckd_passages_per_s": round(args.passages / t_ours, 1),
              "min_cosine_between_indexes": round(float(cos.min()), 5), "mean_cosine": round(float(cos.mean()), 6)}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
