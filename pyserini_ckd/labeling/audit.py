"""What a labels file teaches: target mass per row, where it goes, and (given fuller qrels) how much of it lands
on relevant passages the training labels hide.

For a labels row with candidates C (raw scores t_j, sources) and labelled positives P, the target y is the
one training uses at temperature T (:mod:`pyserini_ckd.training.losses`):

- teacher labelers (``collective``, ``teacher``, ``cross-encoder``, imported scores): each labelled positive
  raised to the row maximum, then y_j = softmax_j(t_j / T) over C;
- ``hard`` and ``uniform``: the scores are the targets themselves (y_j = t_j / sum t), one-hot on the
  positives or 1 - eps on them and eps spread over the rest.

(The trainer builds y over a sampled group of candidates and one positive at a time; the audit uses the
whole row with every labelled positive raised, the distribution those groups are drawn from.)

Per file, averaged over rows: mass on labelled positives sum_{j in P} y_j; off-positive mass 1 minus that;
the share of rows whose off-positive mass exceeds 5%; the off-positive mass by source (``bm25``,
``teacher``, both, other); the share of rows where some unlabelled candidate's raw score is at or above a
positive's; and the raw margin min_{j in P} t_j - max_{j not in P} t_j (10th, 50th and 90th percentiles).

With hidden qrels H (the fuller judgments of the same queries; H_i = relevant passages of query i that are
not labelled positives): the hidden mass sum_{j in H_i} y_j (the paper's mechanism: label mass on relevant
passages the labels hide), the number of hidden positives in the candidate pool (false negatives for hard
labels) and the mean mass each gets, and, given the labeler's ranking of the same queries, the recall of
H_i in its top 10 and top 100.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Union

import numpy as np

from .labelers import LABELERS

# labelers whose scores are target probabilities already (hard, uniform): no temperature applies
PROBABILITY_LABELERS = tuple(name for name, labeler in LABELERS.items() if labeler.probabilities)
OFF_POSITIVE_THRESHOLD = 0.05


def row_targets(record: Mapping, temperature: float, probabilities: bool) -> np.ndarray:
    """The row's target distribution over ``record["candidates"]`` (in their order)."""
    scores = np.array([float(c["score"]) for c in record["candidates"]], dtype=np.float64)
    if probabilities:
        total = scores.sum()
        return scores / total if total > 0 else np.full(len(scores), 1.0 / max(len(scores), 1))
    positives = set(record["positives"])
    is_pos = np.array([c["docid"] in positives for c in record["candidates"]])
    raised = np.where(is_pos, scores.max(), scores)
    z = (raised - raised.max()) / temperature
    y = np.exp(z)
    return y / y.sum()


@dataclass
class RowAudit:
    qid: str
    positive_mass: float
    by_source: Dict[str, float]
    unlabelled_at_or_above: bool
    margin: Optional[float]
    hidden_mass: Optional[float] = None
    hidden_in_pool: Optional[int] = None
    hidden_total: Optional[int] = None
    hidden_recall: Dict[int, Optional[float]] = field(default_factory=dict)


def _source_key(sources: Sequence[str]) -> str:
    s = set(sources) - {"positive"}
    if {"bm25", "teacher"} <= s:
        return "bm25+teacher"
    if "bm25" in s:
        return "bm25"
    if "teacher" in s:
        return "teacher"
    return "other"


def audit_row(record: Mapping, temperature: float, probabilities: bool,
              hidden: Optional[Mapping[str, int]] = None, ranking: Optional[Sequence[str]] = None) -> RowAudit:
    y = row_targets(record, temperature, probabilities)
    positives = set(record["positives"])
    pos_mass, by_source = 0.0, {"bm25": 0.0, "teacher": 0.0, "bm25+teacher": 0.0, "other": 0.0}
    pos_scores, other_scores = [], []
    for c, mass in zip(record["candidates"], y):
        if c["docid"] in positives:
            pos_mass += mass
            pos_scores.append(float(c["score"]))
        else:
            by_source[_source_key(c.get("sources", []))] += mass
            other_scores.append(float(c["score"]))
    margin = min(pos_scores) - max(other_scores) if pos_scores and other_scores else None
    row = RowAudit(str(record["qid"]), float(pos_mass), by_source,
                   bool(margin is not None and margin <= 0), margin)
    if hidden is not None:
        h = {d for d, rel in hidden.items() if rel > 0 and d not in positives}
        row.hidden_total = len(h)
        row.hidden_in_pool = sum(c["docid"] in h for c in record["candidates"])
        row.hidden_mass = float(sum(m for c, m in zip(record["candidates"], y) if c["docid"] in h))
        if ranking is not None:
            for k in (10, 100):
                row.hidden_recall[k] = (len(h & set(ranking[:k])) / len(h)) if h else None
    return row


def labeler_of(path: Union[str, Path]) -> Optional[str]:
    from .labels import meta_path

    meta = meta_path(path)
    if meta.is_file():
        try:
            return json.loads(meta.read_text()).get("labeler")
        except ValueError:
            return None
    return None


def audit_file(records: Iterable[Mapping], labeler: Optional[str], temperature: float,
               hidden: Optional[Mapping[str, Mapping[str, int]]] = None,
               run: Optional[Mapping[str, Sequence[str]]] = None) -> List[RowAudit]:
    probabilities = labeler in PROBABILITY_LABELERS
    rows = []
    for r in records:
        h = hidden.get(r["qid"], {}) if hidden is not None else None
        ranking = run.get(r["qid"], []) if run is not None else None
        rows.append(audit_row(r, temperature, probabilities, h, ranking))
    return rows


def _mean(values: Iterable[Optional[float]]) -> Optional[float]:
    v = [x for x in values if x is not None]
    return round(float(np.mean(v)), 4) if v else None


def summarise(rows: Sequence[RowAudit]) -> dict:
    """The per-file figures (see the module docstring); keys are stable for JSON consumers."""
    margins = [r.margin for r in rows if r.margin is not None]
    out = {
        "rows": len(rows),
        "positive_mass": _mean(r.positive_mass for r in rows),
        "off_positive_mass": _mean(1 - r.positive_mass for r in rows),
        "rows_off_positive_over_5pct": _mean(float(1 - r.positive_mass > OFF_POSITIVE_THRESHOLD) for r in rows),
        "off_positive_mass_by_source": {k: _mean(r.by_source[k] for r in rows) for k in rows[0].by_source} if rows else {},
        "rows_unlabelled_at_or_above_positive": int(sum(r.unlabelled_at_or_above for r in rows)),
        "margin_p10_p50_p90": [round(float(np.percentile(margins, q)), 3) for q in (10, 50, 90)] if margins else None,
    }
    if rows and rows[0].hidden_mass is not None:
        in_pool = [r.hidden_in_pool for r in rows]
        out.update({
            "hidden_positives_per_query": _mean(r.hidden_total for r in rows),
            "hidden_mass": _mean(r.hidden_mass for r in rows),
            "false_negatives_in_pool": _mean(in_pool),
            "false_negatives_in_pool_total": int(sum(in_pool)),
            "false_negative_mass_each": _mean(r.hidden_mass / r.hidden_in_pool for r in rows if r.hidden_in_pool),
            "hidden_recall@10": _mean(r.hidden_recall.get(10) for r in rows) if any(r.hidden_recall for r in rows) else None,
            "hidden_recall@100": _mean(r.hidden_recall.get(100) for r in rows) if any(r.hidden_recall for r in rows) else None,
        })
    return out


def paired_hidden_mass_p(a: Sequence[RowAudit], b: Sequence[RowAudit]) -> Optional[float]:
    """Two-sided paired t-test of per-query hidden mass over the queries both audits share."""
    from ..metrics import paired_t_test

    x = {r.qid: r.hidden_mass for r in a if r.hidden_mass is not None}
    y = {r.qid: r.hidden_mass for r in b if r.hidden_mass is not None}
    common = sorted(set(x) & set(y))
    if len(common) < 2:
        return None
    return paired_t_test({q: x[q] for q in common}, {q: y[q] for q in common})


def temperature_for_off_positive(records: Sequence[Mapping], target: float, low: float = 1e-3, high: float = 1e3,
                                 steps: int = 40) -> float:
    """The temperature T at which the rows' mean off-positive mass is ``target`` (teacher labelers).

    With every positive raised to the row maximum, each row's off-positive mass rises from 0 (T -> 0) towards
    its share of non-positive candidates (T -> infinity), so bisection on log T finds it; a target outside
    [mass at ``low``, mass at ``high``] gives the nearer end."""
    if not 0.0 < target < 1.0:
        raise ValueError(f"target off-positive mass must be in (0, 1), got {target}")

    def off(t: float) -> float:
        return float(np.mean([1 - audit_row(r, t, False).positive_mass for r in records]))

    lo, hi = math.log(low), math.log(high)
    if off(math.exp(hi)) < target:
        return high
    if off(math.exp(lo)) > target:
        return low
    for _ in range(steps):
        mid = (lo + hi) / 2
        if off(math.exp(mid)) < target:
            lo = mid
        else:
            hi = mid
    return float(math.exp((lo + hi) / 2))


def expansion_effect(expanded: Sequence[Mapping], plain: Sequence[Mapping], temperature: float) -> Optional[dict]:
    """How much of the collective labels comes from the expansion: the same candidates scored by the expanded
    query (collective) and by the plain one (teacher), on the rows both files share with equal candidates.

    Per row: the mean score shift mean_j (t^exp_j - t_j); the total variation between the two training
    targets, TV = 1/2 sum_j |y^exp_j - y_j| at ``temperature`` (0: the expansion changes nothing the student
    sees, 1: disjoint targets); and whether the top unlabelled candidate changes."""
    by_qid = {r["qid"]: r for r in plain}
    shifts, tvs, changed = [], [], []
    for r in expanded:
        p = by_qid.get(r["qid"])
        if p is None or [c["docid"] for c in p["candidates"]] != [c["docid"] for c in r["candidates"]]:
            continue
        a = np.array([c["score"] for c in r["candidates"]], dtype=np.float64)
        b = np.array([c["score"] for c in p["candidates"]], dtype=np.float64)
        shifts.append(float(np.mean(a - b)))
        tvs.append(0.5 * float(np.abs(row_targets(r, temperature, False) - row_targets(p, temperature, False)).sum()))
        positives = set(r["positives"])
        others = [i for i, c in enumerate(r["candidates"]) if c["docid"] not in positives]
        if others:
            changed.append(float(max(others, key=lambda i: a[i]) != max(others, key=lambda i: b[i])))
    if not shifts:
        return None
    return {"rows": len(shifts), "mean_score_shift": _mean(shifts), "target_total_variation": _mean(tvs),
            "top_unlabelled_changed": _mean(changed)}
