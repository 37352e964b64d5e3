"""The evaluate job (``python -m pyserini_ckd.evaluate``): an ir-measures table of runs against qrels, paired
t-tests against the first run; judged queries missing from a run count 0, as ``trec_eval -c``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from ..jobs import setting
from .effectiveness import DEFAULT_MEASURES


@dataclass
class EvaluateJob:
    qrels: str = setting(help="BEIR qrels tsv, TREC qrels, or DATASET:SPLIT")
    runs: List[Path] = setting(type=Path, flags=["runs"], nargs="+", metavar="RUN", help="TREC runs; the first is the baseline")
    measures: List[str] = setting(default_factory=lambda: list(DEFAULT_MEASURES), type=str, nargs="+")
    json: Optional[Path] = setting(None, type=Path, help="also write the results (aggregates, per-query, p-values) as JSON")


def run_evaluate(job: EvaluateJob) -> None:
    """Print the table and which runs miss judged queries; write the JSON when asked."""
    from ..atomic import atomic_output, prepare_parent
    from ..data.datasets import load_qrels_spec
    from ..data.runs import read_run
    from .effectiveness import evaluate_runs, format_table

    if job.json:
        prepare_parent(job.json)
    qrels = load_qrels_spec(job.qrels)
    runs = {}
    for path in job.runs:
        name = Path(path).name
        while name in runs:
            name = f"{name}'"
        runs[name] = read_run(path)
    results = evaluate_runs(runs, qrels, job.measures)
    print(format_table(results, job.measures))
    missing = {r.name: r.missing_queries for r in results if r.missing_queries}
    print(f"judged queries: {len(qrels)}; " + (
        "missing from runs (counted as 0): " + ", ".join(f"{k} {v}" for k, v in missing.items()) if missing
        else "every run answers every judged query"))
    if job.json:
        with atomic_output(job.json) as tmp:
            tmp.write_text(json.dumps({"qrels": job.qrels, "judged_queries": len(qrels), "runs": [
                {"name": r.name, "aggregates": r.aggregates, "missing_queries": r.missing_queries,
                 "p_values_vs_first": r.p_values, "per_query": r.per_query} for r in results]}, indent=1))
