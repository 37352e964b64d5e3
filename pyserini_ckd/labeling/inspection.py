"""Looking inside labels files (``python -m pyserini_ckd.inspect_labels``): one query's candidates and
expansion, or figures over every query of each file (the audit, :mod:`pyserini_ckd.labeling.audit`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from ..atomic import atomic_output
from ..data.datasets import resolve_dataset
from ..errors import CkdError, ConfigError
from ..jobs import positive_int, setting
from .labels import iter_labels


@dataclass
class InspectJob:
    labels: List[Path] = setting(type=Path, nargs="+", help="labels file(s); one without --stats")
    dataset: Optional[str] = setting(None, help="with --qid: the dataset whose query and passages to print")
    qid: Optional[str] = setting(None, help="the query to look at")
    top: int = setting(10, type=positive_int)
    stats: bool = setting(False, help="figures over every query of each file")
    temperature: float = setting(0.25, help="--stats: the kd temperature T of training")
    match_off_positive: Optional[float] = setting(None, type=float, metavar="M",
                                                  help="--stats: give each teacher labeler the temperature at which its mean "
                                                       "off-positive mass is M (compares labelers whose scores spread "
                                                       "differently at equal softness)")
    hidden: Optional[str] = setting(None, help="--stats: fuller qrels of the same queries (file or DATASET:SPLIT)")
    runs: Optional[List[Path]] = setting(None, type=Path, nargs="+", help="--stats with --hidden: each labeler's TREC ranking, as --labels")
    plain: Optional[Path] = setting(None, type=Path, help="--stats: the plain teacher's labels of the same pool (label --pool); "
                                                          "each file gets how far its targets move from those (the expansion's share)")
    json: Optional[Path] = setting(None, type=Path, help="--stats: also write the figures as JSON")


def label_stats(job: InspectJob) -> dict:
    from ..data.datasets import load_qrels_spec
    from ..data.runs import read_run
    from .audit import (PROBABILITY_LABELERS, audit_file, expansion_effect, labeler_of, paired_hidden_mass_p,
                                 summarise, temperature_for_off_positive)
    from .labels import read_labels

    if job.temperature <= 0:
        raise ConfigError(f"temperature must be positive, got {job.temperature}")
    if job.runs and (not job.hidden or len(job.runs) != len(job.labels)):
        raise ConfigError("--runs needs --hidden and one run per labels file, in the same order")
    hidden = load_qrels_spec(job.hidden) if job.hidden else None
    plain = read_labels(job.plain) if job.plain else None
    out, audits = {}, {}
    for i, path in enumerate(job.labels):
        labeler = labeler_of(path)
        name = labeler or path.stem
        if name in out:
            name = f"{name} ({path})"
        run = None
        if job.runs:
            run = {q: [h.docid for h in hits] for q, hits in read_run(job.runs[i]).items()}
        records = read_labels(path)
        temperature = job.temperature
        if job.match_off_positive is not None and labeler not in PROBABILITY_LABELERS:
            if not 0 < job.match_off_positive < 1:
                raise ConfigError(f"match-off-positive must be in (0, 1), got {job.match_off_positive}")
            temperature = temperature_for_off_positive(records, job.match_off_positive)
        audits[name] = audit_file(records, labeler, temperature, hidden, run)
        out[name] = {"file": str(path), "temperature": round(temperature, 4), **summarise(audits[name])}
        if plain is not None and labeler not in PROBABILITY_LABELERS and Path(path).resolve() != Path(job.plain).resolve():
            out[name]["expansion"] = expansion_effect(records, plain, temperature)
    if hidden is not None and len(audits) > 1:
        names = list(audits)
        for name in names[1:]:
            out[name]["p_hidden_mass_vs_" + names[0]] = paired_hidden_mass_p(audits[names[0]], audits[name])
    return out


def format_stats(figures: dict, temperature: float) -> str:
    columns = [("positive mass", "positive_mass"), ("off-positive", "off_positive_mass"),
               ("rows > 5% off", "rows_off_positive_over_5pct"), ("unlabelled >= pos (rows)", "rows_unlabelled_at_or_above_positive")]
    hidden = any("hidden_mass" in f for f in figures.values())
    if hidden:
        columns += [("hidden/query", "hidden_positives_per_query"), ("hidden mass", "hidden_mass"),
                    ("FN in pool", "false_negatives_in_pool"), ("mass per FN", "false_negative_mass_each"),
                    ("hidden R@10", "hidden_recall@10"), ("hidden R@100", "hidden_recall@100")]
    lines = [f"targets at T = {temperature} unless the T column says otherwise (hard, uniform: their own probabilities)",
             "| labels | rows | T | " + " | ".join(c for c, _ in columns) + " | off-positive by source (bm25 / teacher / both / other) |",
             "|---" * (len(columns) + 4) + "|"]
    for name, f in figures.items():
        src = f["off_positive_mass_by_source"]
        cells = ["" if f.get(k) is None else str(f.get(k)) for _, k in columns]
        lines.append(f"| {name} | {f['rows']} | {f['temperature']} | " + " | ".join(cells)
                     + f" | {src.get('bm25')} / {src.get('teacher')} / {src.get('bm25+teacher')} / {src.get('other')} |")
    for name, f in figures.items():
        if f.get("expansion"):
            e = f["expansion"]
            lines.append(f"{name} against the plain teacher on {e['rows']} shared rows: mean score shift {e['mean_score_shift']}, "
                         f"target total variation {e['target_total_variation']}, top unlabelled candidate changed in "
                         f"{e['top_unlabelled_changed']} of rows")
        for k, v in f.items():
            if k.startswith("p_hidden_mass_vs_"):
                lines.append(f"hidden mass, {name} vs {k[len('p_hidden_mass_vs_'):]}: paired t-test p = {v:.3g}" if v is not None else "")
    return "\n".join(lines)


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


def run_inspect(job: InspectJob) -> None:
    """Print one query's labels, or (``stats``) the figures of every file, and write them as JSON when asked."""
    if job.stats:
        figures = label_stats(job)
        print(format_stats(figures, job.temperature))
        if job.json:
            with atomic_output(job.json) as tmp:
                tmp.write_text(json.dumps(figures, indent=1))
        return
    if not job.qid or not job.dataset or len(job.labels) != 1:
        raise ConfigError("give --stats, or one --labels file with --dataset and --qid")
    path = job.labels[0]
    dataset = resolve_dataset(job.dataset)
    for _, record in iter_labels(path):
        if record["qid"] == job.qid:
            print(describe(record, dataset.queries[job.qid].text, dataset.corpus, job.top))
            return
    raise CkdError(f"{path}: no query {job.qid!r}")
