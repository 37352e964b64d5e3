"""``python -m pyserini_ckd.evaluate --qrels QRELS RUN [RUN ...]``: ir-measures table, t-tests against the first run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Optional, Sequence

from .atomic import atomic_output, prepare_parent
from .cli import run_cli
from .data.datasets import load_qrels_spec
from .data.runs import read_run
from .evaluation import DEFAULT_MEASURES, evaluate_runs, format_table


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Evaluate TREC runs with ir-measures (missing judged queries count 0, as trec_eval -c).")
    p.add_argument("--qrels", required=True, help="BEIR qrels tsv, TREC qrels, or DATASET:SPLIT")
    p.add_argument("runs", nargs="+", type=Path, metavar="RUN")
    p.add_argument("--measures", nargs="+", default=list(DEFAULT_MEASURES))
    p.add_argument("--json", type=Path, help="also write the results (aggregates, per-query, p-values) as JSON")
    return p


def _run(args: argparse.Namespace) -> None:
    if args.json:
        prepare_parent(args.json)
    qrels = load_qrels_spec(args.qrels)
    runs = {}
    for path in args.runs:
        name = path.name
        while name in runs:
            name = f"{name}'"
        runs[name] = read_run(path)
    results = evaluate_runs(runs, qrels, args.measures)
    print(format_table(results, args.measures))
    missing = {r.name: r.missing_queries for r in results if r.missing_queries}
    print(f"judged queries: {len(qrels)}; " + (
        "missing from runs (counted as 0): " + ", ".join(f"{k} {v}" for k, v in missing.items()) if missing
        else "every run answers every judged query"))
    if args.json:
        with atomic_output(args.json) as tmp:
            tmp.write_text(json.dumps({"qrels": args.qrels, "judged_queries": len(qrels), "runs": [
                {"name": r.name, "aggregates": r.aggregates, "missing_queries": r.missing_queries,
                 "p_values_vs_first": r.p_values, "per_query": r.per_query} for r in results]}, indent=1))


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_cli("pyserini_ckd.evaluate", build_parser, _run, argv)


if __name__ == "__main__":
    main()
