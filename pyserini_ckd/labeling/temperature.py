"""The distillation temperature, chosen on held-out (dev) queries from a grid.

A labels file also holds rows for the dev slice (queries no model trains on). For a row with candidates C,
raw teacher scores t_j and labelled positives P, the teacher's own distribution at temperature T is
p_T(j) = softmax_j(t_j / T) over C (no positive raised: this is the teacher's belief, not the target). The
criterion is the held-out negative log-likelihood of the labels,

    NLL(T) = - mean_q log sum_{j in P_q} p_T(j),

temperature scaling (Guo et al., 2017): the T at which the teacher's confidence matches how often its favourite
is the labelled positive on queries it was not trained on. A teacher whose top unlabelled candidates are often
relevant earns a softer T; one that is usually right about the positive, a sharper one. The grid holds the
paper's 0.25, powers of two, and the T whose off-positive training mass (positives raised, as the trainer does;
:func:`~.audit.temperature_for_off_positive`) equals uniform smoothing's epsilon, so the table shows where the
choice sits between "as sharp as the paper" and "as soft as label smoothing". Each grid value's off-positive
mass on the training rows is recorded beside its NLL.
"""

from __future__ import annotations

import math
from typing import Dict, List, Mapping, Sequence

import numpy as np

from ..errors import ConfigError
from .audit import audit_row, temperature_for_off_positive

DEFAULT_GRID = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


def dev_nll(records: Sequence[Mapping], temperature: float) -> float:
    """NLL(T) over the rows (see the module docstring)."""
    losses = []
    for r in records:
        t = np.array([c["score"] for c in r["candidates"]], dtype=np.float64) / temperature
        log_z = np.logaddexp.reduce(t)
        pos = [i for i, c in enumerate(r["candidates"]) if c["docid"] in set(r["positives"])]
        if pos:
            losses.append(-(np.logaddexp.reduce(t[pos]) - log_z))
    if not losses:
        raise ConfigError("no dev row has a labelled positive among its candidates")
    return float(np.mean(losses))


def choose_temperature(train: Sequence[Mapping], dev: Sequence[Mapping], epsilon: float,
                       grid: Sequence[float] = DEFAULT_GRID) -> Dict:
    """The grid value (plus the epsilon-matched one) with the lowest dev NLL, and the whole table."""
    if not dev:
        raise ConfigError("no dev rows in the labels file to choose the temperature on")
    values: List[float] = sorted(set(float(t) for t in grid))
    matched = None
    if 0 < epsilon < 1:
        matched = round(temperature_for_off_positive(train, epsilon), 4)
        values = sorted(set(values) | {matched})
    table = []
    for t in values:
        off = float(np.mean([1 - audit_row(r, t, False).positive_mass for r in train]))
        table.append({"temperature": t, "dev_nll": round(dev_nll(dev, t), 5), "train_off_positive_mass": round(off, 4)})
    best = min(table, key=lambda row: (row["dev_nll"], row["temperature"]))
    return {"temperature": best["temperature"], "criterion": "dev NLL of the labelled positives under softmax(t / T)",
            "dev_queries": len(dev), "train_queries": len(train), "epsilon_matched_temperature": matched,
            "table": table, "uniform_nll": round(float(np.mean([math.log(len(r["candidates"]) / max(1, len(set(r["positives"]) & {c["docid"] for c in r["candidates"]})))
                                               for r in dev])), 5)}
