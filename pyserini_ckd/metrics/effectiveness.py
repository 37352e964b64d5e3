"""Evaluation through ir-measures, with paired significance tests.

Aggregates follow ``trec_eval -c``: the mean over every judged query of the qrels, a query that a run
does not answer counting as zero. With several runs, each run after the first is compared with the
first by a paired two-sided t-test on per-query values of the test measure (nDCG@10 by default):
t = mean(d) / (sd(d) / sqrt(n)) over the per-query differences d, n - 1 degrees of freedom.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence

from ..data.records import Qrels, Run
from ..errors import ConfigError

logger = logging.getLogger(__name__)

DEFAULT_MEASURES = ("nDCG@10", "RR@10", "R@100", "R@1000")


@dataclass
class RunEvaluation:
    name: str
    aggregates: Dict[str, float]
    per_query: Dict[str, Dict[str, float]]  # measure -> qid -> value
    missing_queries: int
    p_values: Dict[str, float] = field(default_factory=dict)  # measure -> p against the first run


def parse_measures(names: Sequence[str]):
    import ir_measures

    measures = []
    for name in names:
        try:
            measures.append(ir_measures.parse_measure(name))
        except (ValueError, NameError, SyntaxError, TypeError) as exc:
            raise ConfigError(f"unknown measure {name!r} ({exc})") from None
    return measures


def _qrels_records(qrels: Qrels):
    import ir_measures

    return [ir_measures.Qrel(q, d, rel) for q, docs in qrels.items() for d, rel in docs.items()]


def _run_records(run: Run):
    import ir_measures

    return [ir_measures.ScoredDoc(q, h.docid, h.score) for q, hits in run.items() for h in hits]


def evaluate_run(run: Run, qrels: Qrels, measures: Sequence[str] = DEFAULT_MEASURES, name: str = "run") -> RunEvaluation:
    """Per-query and mean values of ``measures`` over all judged queries (missing ones count 0)."""
    import ir_measures

    parsed = parse_measures(measures)
    per_query: Dict[str, Dict[str, float]] = {str(m): {q: 0.0 for q in qrels} for m in parsed}
    judged_run = {q: hits for q, hits in run.items() if q in qrels}
    for metric in ir_measures.iter_calc(parsed, _qrels_records(qrels), _run_records(judged_run)):
        per_query[str(metric.measure)][metric.query_id] = float(metric.value)
    missing = sum(1 for q in qrels if not run.get(q))
    if missing:
        logger.warning("%s: %d judged quer%s not in the run, counted as 0", name, missing, "y" if missing == 1 else "ies")
    aggregates = {m: (sum(v.values()) / len(v) if v else 0.0) for m, v in per_query.items()}
    return RunEvaluation(name, aggregates, per_query, missing)


def paired_t_test(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Two-sided p-value of a paired t-test over the shared queries; 1.0 when the runs agree everywhere."""
    from scipy import stats

    qids = sorted(set(a) & set(b))
    xs, ys = [a[q] for q in qids], [b[q] for q in qids]
    if len(qids) < 2 or all(x == y for x, y in zip(xs, ys)):
        return 1.0
    return float(stats.ttest_rel(ys, xs).pvalue)


def evaluate_runs(runs: Mapping[str, Run], qrels: Qrels, measures: Sequence[str] = DEFAULT_MEASURES,
                  test_measure: Optional[str] = "nDCG@10") -> List[RunEvaluation]:
    """Evaluate every run; each after the first gets p-values against the first on ``test_measure``."""
    measures = list(measures)
    if test_measure and test_measure not in measures:
        measures.append(test_measure)
    results = [evaluate_run(run, qrels, measures, name) for name, run in runs.items()]
    if test_measure and len(results) > 1:
        key = str(parse_measures([test_measure])[0])
        for res in results[1:]:
            res.p_values[key] = paired_t_test(results[0].per_query[key], res.per_query[key])
    return results


def format_table(results: Sequence[RunEvaluation], measures: Sequence[str] = DEFAULT_MEASURES) -> str:
    """A plain-text table, one row per run; p-values against the first run in the last column."""
    keys = [str(m) for m in parse_measures(measures)]
    name_width = max(12, *(len(r.name) for r in results))
    header = f"{'run':<{name_width}} " + " ".join(f"{k:>9}" for k in keys)
    show_p = any(r.p_values for r in results)
    if show_p:
        header += f" {'p (vs first)':>13}"
    lines = [header]
    for r in results:
        row = f"{r.name:<{name_width}} " + " ".join(f"{r.aggregates.get(k, float('nan')):>9.4f}" for k in keys)
        if show_p:
            p = next(iter(r.p_values.values()), None)
            row += f" {('%.4g' % p) if p is not None else '-':>13}"
        lines.append(row)
    return "\n".join(lines)
