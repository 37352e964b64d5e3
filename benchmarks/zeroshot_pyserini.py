"""Zero-shot MiniLM on a BEIR test split, searched two ways over the same pyserini_ckd index:

1. Pyserini's own ``FaissSearcher`` with Pyserini's ``AutoQueryEncoder(pooling='mean', l2_norm=True)``;
2. ``python -m pyserini_ckd.search --dense`` (``CkdQueryEncoder``).

Prints nDCG@10 of both and how many queries have identical top-10 and top-1000 rankings.

    .venv/bin/python benchmarks/zeroshot_pyserini.py --index work/scifact/dense-minilm [--dataset scifact --split test]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pyserini_ckd  # noqa: F401  (Java set-up)
from pyserini_ckd.data.datasets import resolve_dataset
from pyserini_ckd.data.records import ScoredDoc
from pyserini_ckd.data.runs import read_run
from pyserini_ckd.dense.models import minilm_path
from pyserini_ckd.metrics import evaluate_runs


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--dataset", default="scifact")
    p.add_argument("--split", default="test")
    args = p.parse_args()
    from pyserini.encode import AutoQueryEncoder
    from pyserini.search.faiss import FaissSearcher

    dataset = resolve_dataset(args.dataset)
    queries = dataset.split_queries(args.split)
    searcher = FaissSearcher(str(args.index), AutoQueryEncoder(str(minilm_path()), pooling="mean", l2_norm=True, device="cpu"))
    qids = list(queries)
    hits = searcher.batch_search([queries[q].text for q in qids], qids, k=1000, threads=1)
    pyserini_run = {q: [ScoredDoc(h.docid, float(h.score)) for h in hits[q]] for q in qids}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ours.trec"
        subprocess.run([sys.executable, "-m", "pyserini_ckd.search", "--dataset", str(dataset.path), "--split", args.split,
                        "--dense", str(args.index), "--encoder", "minilm", "--output", str(out)],
                       check=True, stderr=subprocess.DEVNULL)
        ours = read_run(out)
    results = evaluate_runs({"pyserini FaissSearcher+AutoQueryEncoder": pyserini_run, "pyserini_ckd.search --dense": ours},
                            dataset.qrels(args.split))
    same10 = sum([h.docid for h in pyserini_run[q][:10]] == [h.docid for h in ours[q][:10]] for q in qids)
    same1000 = sum([h.docid for h in pyserini_run[q]] == [h.docid for h in ours[q]] for q in qids)
    print(json.dumps({r.name: round(r.aggregates["nDCG@10"], 4) for r in results}, indent=1))
    print(f"identical top-10: {same10}/{len(qids)} queries; identical top-1000: {same1000}/{len(qids)}")


if __name__ == "__main__":
    main()
