"""Write the sparse-label protocol's folds of a collection judged in depth (``pyserini_ckd.data.sparse_split``).

    python benchmarks/sparse_split.py --dataset cranfield --output DATA/cranfield-sparse [--folds 5] [--seed 0]

Each ``fold-f`` is a BEIR folder: ``qrels/train.tsv`` (one labelled positive a training query),
``qrels/train-hidden.tsv`` (their other relevant passages), ``qrels/train-full.tsv`` and ``qrels/test.tsv``
(the fold's queries, all judgments). Data stays outside the repository.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pyserini_ckd.data.datasets import resolve_dataset
from pyserini_ckd.data.qrels import read_qrels
from pyserini_ckd.data.sparse_split import write_sparse_folds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", required=True)
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", default="test", help="the judgments to split (transfer collections have only test)")
    args = p.parse_args()
    for f, path in write_sparse_folds(resolve_dataset(args.dataset), args.output, args.folds, args.seed, args.split).items():
        train, hidden, test = (read_qrels(path / "qrels" / f"{s}.tsv") for s in ("train", "train-hidden", "test"))
        print(f"{path}: train {len(train)} queries (1 positive each, {sum(map(len, hidden.values()))} hidden), "
              f"test {len(test)} queries ({sum(map(len, test.values())) / max(len(test), 1):.1f} judged each)")


if __name__ == "__main__":
    main()
