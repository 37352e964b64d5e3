"""The sparse-label protocol end to end for one collection judged in depth: folds, label recovery, students.

    python benchmarks/sparse_labels.py --dataset cranfield --workdir W [--folds 5] [--run-folds 0 1 2]
                                       [--profile compare-cpu] [--config FILE.json] [--device cpu|cuda]

1. ``W/folds/fold-f`` for every fold (``pyserini_ckd.data.sparse_split``): training queries keep one labelled
   positive, their other relevant passages are hidden, the fold's queries keep all judgments.
2. For each fold in ``--run-folds`` (default: all), the pipeline of ``--profile`` on that fold's BEIR folder
   (``W/fold-f``; no transfer sets): teachers, one pool, every labeler's labels, students of every labeler
   and seed from one start, their runs on the fold's queries. Cached like any pipeline run.
3. Label recovery, per labeler, over the training rows of every run fold (dev rows excluded), at the
   temperature its student trains at (``pyserini_ckd.labeling.audit``): mass on hidden positives, hidden
   positives in the pool (false negatives for hard labels) and the mass each gets, hidden-positive recall in
   the labeler's ranking at 10 and 100 (null for hard and uniform, which do not rank).
4. Students: nDCG@10 and R@100 on the run folds' queries with all their judgments, seeds averaged per
   query, pooled over folds; p: paired t-test against the hard-label student on those queries.

Writes ``W/sparse_labels.json``:
``{"dataset", "folds", "run_folds", "labelers": {NAME: {"positive_mass", "hidden_mass", "false_negatives_in_pool",
"false_negative_mass", "hidden_recall@10", "hidden_recall@100", "student_nDCG@10", "student_R@100",
"p_vs_hard", "p_vs_zeroshot"}}, "references": {"zeroshot", "bm25": {"nDCG@10", "R@100"}}, "test_queries",
"temperatures", "p_hidden_mass_collective_vs_teacher", "p_hidden_mass_collective_vs_uniform"}`` and
``W/sparse_labels.md`` (the table); with ``--audit-temperature T``, ``W/sparse_labels.TT.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

NAMES = ("hard", "uniform", "teacher", "collective", "cross-encoder")
REFERENCES = ("zeroshot", "bm25")  # the students' start (MiniLM) and BM25, on the same queries


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", required=True, help="a collection judged in depth (cranfield, cacm, npl, a BEIR folder)")
    p.add_argument("--workdir", type=Path, required=True)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--run-folds", type=int, nargs="+", help="the folds to run (default: all); say which in any report")
    p.add_argument("--split", default="test", help="the judgments to split (transfer collections have only test)")
    p.add_argument("--seed", type=int, default=0, help="seed of the one-positive draw")
    p.add_argument("--profile", default="compare-cpu")
    p.add_argument("--config", type=Path, help="JSON overriding the profile's settings")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--keep-checkpoints", action="store_true",
                   help="keep each model's trainer checkpoints (about 0.3 GB a model; by default removed once a fold is done: "
                        "three collections' runs filled 27 GB)")
    p.add_argument("--audit-temperature", type=float, help="audit every teacher labeler's labels at this T (default: the "
                                                            "temperature its student trained at); the students are unchanged")
    return p


def run_fold(folder: Path, workdir: Path, args) -> "object":
    from pyserini_ckd.pipeline.config import PipelineConfig
    from pyserini_ckd.pipeline.experiment import Experiment

    exp = Experiment(PipelineConfig(dataset=str(folder), workdir=workdir, profile=args.profile, device=args.device,
                                    transfer=[], config_file=args.config))
    exp.run_all()
    return exp


def recovery(exp, fold: int, audit_temperature: Optional[float] = None) -> Dict[str, list]:
    """Per labeler, the audit rows of the fold's training queries (keys prefixed with the fold)."""
    from pyserini_ckd.data.qrels import read_qrels
    from pyserini_ckd.data.runs import read_run
    from pyserini_ckd.labeling.audit import PROBABILITY_LABELERS, audit_file
    from pyserini_ckd.labeling.labels import read_labels

    hidden = read_qrels(exp.main.path / "qrels" / "train-hidden.tsv")
    dev = set(exp.read_dev_qrels())
    out = {}
    for name in exp.label_names():
        if name not in NAMES:
            continue
        rows = [r for r in read_labels(exp.labels_path(name)) if r["qid"] not in dev]
        ranking = exp.run_path(f"labeler-{name}", exp.main.name, "train")
        run = {q: [h.docid for h in hits] for q, hits in read_run(ranking).items()} if ranking.is_file() else None
        t = 1.0 if name in PROBABILITY_LABELERS else audit_temperature or exp.student_temperature(name)  # hard, uniform: own targets
        audits = audit_file(rows, name, t, {q: hidden.get(q, {}) for q in (r["qid"] for r in rows)}, run)
        for a in audits:
            a.qid = f"{fold}:{a.qid}"
        out[name] = audits
    return out


def student_scores(exp, fold: int) -> Dict[str, Dict[str, Dict[str, float]]]:
    """Per labeler's student (and the references: zero-shot MiniLM, BM25), {measure: {fold:qid: value}} on the
    fold's queries, seeds averaged."""
    from pyserini_ckd.data.runs import read_run
    from pyserini_ckd.metrics import evaluate_run

    qrels = exp.main.qrels("test", check_docs=False)
    out: Dict[str, Dict[str, Dict[str, float]]] = {}
    runs = {name: [exp.run_path(exp.student_name(name, seed), exp.main.name) for seed in exp.s["seeds"]] for name in NAMES}
    runs.update({name: [exp.run_path(name, exp.main.name)] for name in REFERENCES})
    for name, paths in runs.items():
        per_seed = [evaluate_run(read_run(path), qrels, ["nDCG@10", "R@100"], name).per_query for path in paths if path.is_file()]
        if per_seed:
            out[name] = {m: {f"{fold}:{q}": sum(p[m][q] for p in per_seed) / len(per_seed) for q in qrels}
                         for m in ("nDCG@10", "R@100")}
    return out


def _p(value: float) -> float:
    """A p-value to three significant digits (rounding to decimals would print a tiny one as 0)."""
    return float(f"{value:.3g}")


def training_temperatures(exp) -> Dict[str, Optional[float]]:
    """The temperature each labeler's students train at (None for hard and uniform: probabilities already)."""
    from pyserini_ckd.labeling.audit import PROBABILITY_LABELERS

    return {name: None if name in PROBABILITY_LABELERS else exp.student_temperature(name)
            for name in exp.label_names() if name in NAMES}


def summarise(dataset: str, folds: int, run_folds: Sequence[int], audits: Dict[str, list], students: Dict[str, dict],
              temperatures: Dict[str, list]) -> dict:
    from pyserini_ckd.metrics import paired_t_test
    from pyserini_ckd.labeling.audit import paired_hidden_mass_p, summarise as summarise_rows

    labelers = {}
    for name in NAMES:
        entry: Dict[str, Optional[float]] = dict.fromkeys(("positive_mass", "hidden_mass", "false_negatives_in_pool", "false_negative_mass",
                                                           "hidden_recall@10", "hidden_recall@100", "student_nDCG@10",
                                                           "student_R@100", "p_vs_hard", "p_vs_zeroshot"))
        if name in audits:
            s = summarise_rows(audits[name])
            entry.update({"positive_mass": s.get("positive_mass"), "hidden_mass": s.get("hidden_mass"), "false_negatives_in_pool": s.get("false_negatives_in_pool"),
                          "false_negative_mass": s.get("false_negative_mass_each"),
                          "hidden_recall@10": s.get("hidden_recall@10"), "hidden_recall@100": s.get("hidden_recall@100")})
        if name in students:
            for m in ("nDCG@10", "R@100"):
                values = students[name][m]
                entry[f"student_{m}"] = round(sum(values.values()) / len(values), 4)
            if name != "hard" and "hard" in students:
                entry["p_vs_hard"] = _p(paired_t_test(students["hard"]["nDCG@10"], students[name]["nDCG@10"]))
            if "zeroshot" in students:
                entry["p_vs_zeroshot"] = _p(paired_t_test(students["zeroshot"]["nDCG@10"], students[name]["nDCG@10"]))
        labelers[name] = entry
    references = {name: {f"{m}": round(sum(students[name][m].values()) / len(students[name][m]), 4) for m in ("nDCG@10", "R@100")}
                  for name in REFERENCES if name in students}
    queries = len(next(iter(students.values()))["nDCG@10"]) if students else 0
    out = {"dataset": dataset, "folds": folds, "run_folds": list(run_folds), "test_queries": queries, "labelers": labelers,
           "references": references, "temperatures": temperatures}
    for other in ("teacher", "uniform"):
        p = paired_hidden_mass_p(audits[other], audits["collective"]) if "collective" in audits and other in audits else None
        out[f"p_hidden_mass_collective_vs_{other}"] = None if p is None else _p(p)
    return out


def markdown(summary: dict) -> str:
    cols = [("mass on the labelled positive", "positive_mass"), ("mass on hidden positives", "hidden_mass"), ("false negatives in pool", "false_negatives_in_pool"),
            ("mass per false negative", "false_negative_mass"), ("hidden R@10", "hidden_recall@10"),
            ("hidden R@100", "hidden_recall@100"), ("student nDCG@10", "student_nDCG@10"), ("student R@100", "student_R@100"),
            ("p vs hard", "p_vs_hard")]
    cols.append(("p vs zero-shot", "p_vs_zeroshot"))
    lines = [f"{summary['dataset']}: folds {summary['run_folds']} of {summary['folds']} ({summary.get('test_queries')} "
             "held-out queries with all their judgments)", "",
             "| labeler | " + " | ".join(c for c, _ in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, e in summary["labelers"].items():
        lines.append(f"| {name} | " + " | ".join("" if e[k] is None else str(e[k]) for _, k in cols) + " |")
    for name, r in summary.get("references", {}).items():
        label = {"zeroshot": "zero-shot MiniLM (the students' start)", "bm25": "BM25"}.get(name, name)
        before = [k for _, k in cols].index("student_nDCG@10")
        after = len(cols) - before - 2
        lines.append(f"| {label} |" + " |" * before + f" {r['nDCG@10']} | {r['R@100']} |" + " |" * after)
    lines += ["", f"hidden mass, collective vs teacher: p = {summary['p_hidden_mass_collective_vs_teacher']}; "
                  f"vs uniform: p = {summary['p_hidden_mass_collective_vs_uniform']} (paired over training queries)"]
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> dict:
    from pyserini_ckd.atomic import atomic_output
    from pyserini_ckd.data.datasets import resolve_dataset
    from pyserini_ckd.data.sparse_split import write_sparse_folds

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    dataset = resolve_dataset(args.dataset)
    folds_dir = args.workdir / "folds"
    if not all((folds_dir / f"fold-{f}").is_dir() for f in range(args.folds)):
        write_sparse_folds(dataset, folds_dir, args.folds, args.seed, args.split)
    run_folds = args.run_folds if args.run_folds is not None else list(range(args.folds))
    audits: Dict[str, list] = {}
    students: Dict[str, dict] = {}
    temperatures: Dict[str, list] = {}  # each labeler's students' temperature, fold by fold
    for f in run_folds:
        exp = run_fold(folds_dir / f"fold-{f}", args.workdir / f"fold-{f}", args)
        if not args.keep_checkpoints:
            import shutil

            for folder in (args.workdir / f"fold-{f}" / "models").glob("*.checkpoints"):
                shutil.rmtree(folder, ignore_errors=True)
        for name, t in training_temperatures(exp).items():
            temperatures.setdefault(name, []).append(t)
        for name, rows in recovery(exp, f, args.audit_temperature).items():
            audits.setdefault(name, []).extend(rows)
        for name, measures in student_scores(exp, f).items():
            for m, values in measures.items():
                students.setdefault(name, {}).setdefault(m, {}).update(values)
    summary = summarise(dataset.name, args.folds, run_folds, audits, students, temperatures)
    stem = "sparse_labels" + (f".T{args.audit_temperature:g}" if args.audit_temperature else "")  # an audit at a fixed T beside
    with atomic_output(args.workdir / f"{stem}.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1))
    with atomic_output(args.workdir / f"{stem}.md") as tmp:
        tmp.write_text(markdown(summary))
    print(markdown(summary))
    return summary


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
