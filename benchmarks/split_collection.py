"""Make a training collection out of a test-only one: its judged queries split into train and test qrels.

The transfer collections (cranfield, cacm, npl) have test qrels only, but their queries are judged in
depth (cranfield: 7.2 relevant passages a query against SciFact's 1.1). To train and judge a teacher
where PRF's feedback passages are mostly relevant, this writes a BEIR folder whose ``qrels/train.tsv``
and ``qrels/test.tsv`` split the collection's judged queries by a hash of the query id (a fixed share
to test); the corpus and queries are linked, not copied. Data stays outside the repository.

    python benchmarks/split_collection.py --dataset cranfield --output /tmp/cranfield-split [--test-fraction 0.2]
"""

from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path

from pyserini_ckd.atomic import atomic_output
from pyserini_ckd.data.datasets import resolve_dataset
from pyserini_ckd.data.qrels import beir_qrels_text


def in_test(qid: str, fraction: float) -> bool:
    return int(hashlib.sha256(f"split:{qid}".encode()).hexdigest(), 16) % 10_000 < fraction * 10_000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", required=True)
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--test-fraction", type=float, default=0.2)
    args = p.parse_args()
    dataset = resolve_dataset(args.dataset)
    qrels = dataset.qrels("test")
    with atomic_output(args.output, directory=True) as tmp:
        for name in ("corpus.jsonl", "queries.jsonl"):
            os.symlink((dataset.path / name).resolve(), tmp / name)
        (tmp / "qrels").mkdir()
        counts = {}
        for split in ("train", "test"):
            part = {q: docs for q, docs in sorted(qrels.items()) if in_test(q, args.test_fraction) == (split == "test")}
            counts[split] = len(part)
            (tmp / "qrels" / f"{split}.tsv").write_text(beir_qrels_text(part))
    print(f"{args.output}: {dataset.name} queries split into train {counts['train']}, test {counts['test']}")


if __name__ == "__main__":
    main()
