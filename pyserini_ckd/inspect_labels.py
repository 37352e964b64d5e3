"""``python -m pyserini_ckd.inspect_labels``: look inside labels files, one query or all of them.

    python -m pyserini_ckd.inspect_labels --labels LABELS --dataset D --qid Q [--top 10]
    python -m pyserini_ckd.inspect_labels --stats --labels L1 [L2 ...] [--temperature 0.25] \
        [--hidden QRELS] [--runs RUN1 [RUN2 ...]] [--plain TEACHER_LABELS] [--json OUT]

One query: its expansion tokens with weights, and its top candidates by score with their sources and
whether they are labelled positives. ``--stats``: per file, what the targets at the training temperature
teach (mass on labelled positives, off-positive mass and its sources, rows where an unlabelled candidate
outscores a positive); with ``--hidden QRELS`` (fuller judgments of the same queries) the mass on relevant
passages the labels hide, those passages in the candidate pool (false negatives for hard labels), and with
``--runs`` (each labeler's ranking of the queries, in the order of ``--labels``) their recall at 10 and 100;
with ``--plain`` (the plain teacher's labels of the same pool) how far each file's targets move from the
plain teacher's (the expansion's share of collective labels).
The maths: :mod:`pyserini_ckd.labeling.audit`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Optional, Sequence

from .cli import positive_int, run_cli
from .data.datasets import resolve_dataset
from .labeling.labels import iter_labels
from .atomic import atomic_output
from .errors import CkdError, ConfigError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split(":", 1)[1].strip(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--labels", type=Path, nargs="+", required=True, help="labels file(s); one without --stats")
    p.add_argument("--dataset", help="with --qid: the dataset whose query and passages to print")
    p.add_argument("--qid", help="the query to look at")
    p.add_argument("--top", type=positive_int, default=10)
    p.add_argument("--stats", action="store_true", help="figures over every query of each file")
    p.add_argument("--temperature", type=float, default=0.25, help="--stats: the kd temperature T of training")
    p.add_argument("--match-off-positive", type=float, metavar="M",
                   help="--stats: give each teacher labeler the temperature at which its mean off-positive mass is M "
                        "(compares labelers whose scores spread differently at equal softness)")
    p.add_argument("--hidden", help="--stats: fuller qrels of the same queries (file or DATASET:SPLIT)")
    p.add_argument("--runs", type=Path, nargs="+", help="--stats with --hidden: each labeler's TREC ranking, as --labels")
    p.add_argument("--plain", type=Path, help="--stats: the plain teacher's labels of the same pool (label --pool); each "
                                              "file gets how far its targets move from those (the expansion's share)")
    p.add_argument("--json", type=Path, help="--stats: also write the figures as JSON")
    return p


def stats(args: argparse.Namespace) -> dict:
    from .data.datasets import load_qrels_spec
    from .data.runs import read_run
    from .labeling.audit import (PROBABILITY_LABELERS, audit_file, expansion_effect, labeler_of, paired_hidden_mass_p,
                                 summarise, temperature_for_off_positive)
    from .labeling.labels import read_labels

    if args.temperature <= 0:
        raise ConfigError(f"temperature must be positive, got {args.temperature}")
    if args.runs and (not args.hidden or len(args.runs) != len(args.labels)):
        raise ConfigError("--runs needs --hidden and one run per labels file, in the same order")
    hidden = load_qrels_spec(args.hidden) if args.hidden else None
    plain = read_labels(args.plain) if args.plain else None
    out, audits = {}, {}
    for i, path in enumerate(args.labels):
        labeler = labeler_of(path)
        name = labeler or path.stem
        if name in out:
            name = f"{name} ({path})"
        run = None
        if args.runs:
            run = {q: [h.docid for h in hits] for q, hits in read_run(args.runs[i]).items()}
        records = read_labels(path)
        temperature = args.temperature
        if args.match_off_positive is not None and labeler not in PROBABILITY_LABELERS:
            if not 0 < args.match_off_positive < 1:
                raise ConfigError(f"match-off-positive must be in (0, 1), got {args.match_off_positive}")
            temperature = temperature_for_off_positive(records, args.match_off_positive)
        audits[name] = audit_file(records, labeler, temperature, hidden, run)
        out[name] = {"file": str(path), "temperature": round(temperature, 4), **summarise(audits[name])}
        if plain is not None and labeler not in PROBABILITY_LABELERS and Path(path).resolve() != Path(args.plain).resolve():
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


def _run(args: argparse.Namespace) -> None:
    if args.stats:
        figures = stats(args)
        print(format_stats(figures, args.temperature))
        if args.json:
            with atomic_output(args.json) as tmp:
                tmp.write_text(json.dumps(figures, indent=1))
        return
    if not args.qid or not args.dataset or len(args.labels) != 1:
        raise ConfigError("give --stats, or one --labels file with --dataset and --qid")
    args.labels = args.labels[0]
    dataset = resolve_dataset(args.dataset)
    for _, record in iter_labels(args.labels):
        if record["qid"] == args.qid:
            print(describe(record, dataset.queries[args.qid].text, dataset.corpus, args.top))
            return
    raise CkdError(f"{args.labels}: no query {args.qid!r}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run_cli("pyserini_ckd.inspect_labels", build_parser, _run, argv)


if __name__ == "__main__":
    main()
