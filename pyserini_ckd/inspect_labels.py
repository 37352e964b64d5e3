"""``python -m pyserini_ckd.inspect_labels --labels LABELS --dataset D --qid Q``: look inside one query's labels.

Prints the query, its expansion tokens with weights, and its top candidates by score with their sources
and whether they are labelled positives.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Optional, Sequence

from .cli import positive_int, run_cli
from .data.datasets import resolve_dataset
from .data.lines import iter_lines
from .errors import CkdError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Look inside one query's labels.")
    p.add_argument("--labels", type=Path, required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--qid", required=True)
    p.add_argument("--top", type=positive_int, default=10)
    return p


def describe(record: dict, query: str, corpus, top: int) -> str:
    lines = [f"query {record['qid']}: {query}"]
    if record.get("expansion"):
        lines.append("expansion: " + ", ".join(f"{e['token']} {e['weight']:.2f}" for e in record["expansion"]))
    else:
        lines.append("expansion: (none)")
    positives = set(record["positives"])
    for rank, c in enumerate(sorted(record["candidates"], key=lambda c: -c["score"])[:top], 1):
        doc = corpus.get(c["docid"])
        title = (doc.title or doc.text)[:70] if doc else ""
        mark = "POS" if c["docid"] in positives else "   "
        lines.append(f"{rank:>3} {mark} {c['score']:>10.4f} {c['docid']:<12} {'+'.join(c['sources']):<22} {title}")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> None:
    dataset = resolve_dataset(args.dataset)
    for _, line in iter_lines(args.labels):
        record = json.loads(line)
        if str(record["qid"]) == args.qid:
            print(describe(record, dataset.queries[args.qid].text, dataset.corpus, args.top))
            return
    raise CkdError(f"{args.labels}: no query {args.qid!r}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_cli("pyserini_ckd.inspect_labels", build_parser, _run, argv)


if __name__ == "__main__":
    main()
