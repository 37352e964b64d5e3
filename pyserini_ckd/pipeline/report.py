"""Evaluate every run and write ``results.json``, ``report.md`` and ``results.png``.

Views: every ``test*`` qrels file of each dataset (SciFact: ``test`` and ``test-unseen``). A system trained
with several seeds is scored per seed and, for the table, by the per-query mean over seeds; its p-value
is a paired two-sided t-test of those per-query nDCG@10 means against ``student-hard``'s.
"""

from __future__ import annotations

import json
import platform
import re
import sys
from importlib import metadata
from pathlib import Path
from typing import Dict, List

from ..atomic import atomic_output
from ..data.qrels import read_qrels
from ..data.runs import read_run
from ..evaluation import DEFAULT_MEASURES, evaluate_run, paired_t_test

REFERENCE = ("bm25", "zeroshot")
KEY = "nDCG@10"


def _base(system: str) -> str:
    return re.sub(r"\.s\d+$", "", system)


def evaluate_all(exp) -> dict:
    systems = ["bm25"] + exp.systems() + (["hybrid-collective"] if "collective" in exp.labelers else [])
    results: Dict[str, dict] = {}
    runs: Dict[Path, dict] = {}  # each run file parsed once, whatever the number of views
    for d in exp.datasets:
        for view in [s for s in d.splits if s.startswith("test")]:
            qrels = d.qrels(view, check_docs=False)
            per_system: Dict[str, List] = {}
            for system in systems:
                path = exp.run_path(system, d.name)
                if not path.is_file():
                    continue
                if path not in runs:
                    runs[path] = read_run(path)
                run = runs[path]
                per_system.setdefault(_base(system), []).append((system, evaluate_run(run, qrels, DEFAULT_MEASURES, system)))
            hard = per_system.get("student-hard")
            hard_pq = _mean_per_query(hard) if hard else None
            for base, evals in per_system.items():
                agg = {m: sum(e.aggregates[m] for _, e in evals) / len(evals) for m in evals[0][1].aggregates}
                entry = {**{m: round(v, 4) for m, v in agg.items()}, "seeds": {s: round(e.aggregates[KEY], 4) for s, e in evals}}
                if hard_pq is not None and base != "student-hard":
                    entry["p_vs_student_hard"] = paired_t_test(hard_pq, _mean_per_query(evals))
                results.setdefault(base, {}).setdefault(d.name, {})[view] = entry
    return results


def _mean_per_query(evals) -> Dict[str, float]:
    qids = evals[0][1].per_query[KEY].keys()
    return {q: sum(e.per_query[KEY][q] for _, e in evals) / len(evals) for q in qids}


def labeler_dev_quality(exp) -> Dict[str, float]:
    if not exp.dev_qrels.is_file():
        return {}
    qrels = read_qrels(exp.dev_qrels)
    out = {}
    for labeler in exp.labelers:
        path = exp.run_path(f"labeler-{labeler}", exp.main.name, "train")
        if path.is_file():
            run = {q: hits for q, hits in read_run(path).items() if q in qrels}
            out[labeler] = round(evaluate_run(run, qrels, [KEY], labeler).aggregates[KEY], 4)
    dev_run = exp.run_path("bm25", exp.main.name, "train")
    if dev_run.is_file():
        out["bm25 (reference)"] = round(evaluate_run({q: h for q, h in read_run(dev_run).items() if q in qrels}, qrels, [KEY]).aggregates[KEY], 4)
    return out


def update_model_cards(exp, results: dict) -> None:
    """Rewrite each student's model card with its own evaluation (nDCG@10 per dataset and view)."""
    from ..training.model_card import labels_meta_for, write_model_card

    for system in exp.systems():
        folder = exp.model_dir(system)
        if system == "zeroshot" or not (folder / "train_config.json").is_file():
            continue
        evaluation = {f"{d}.{view}": {KEY: entry["seeds"][system]}
                      for d, views in results.get(_base(system), {}).items()
                      for view, entry in views.items() if system in entry.get("seeds", {})}
        labeler = _base(system).removeprefix("student-")
        labels = exp.w / "labels" / f"{labeler}.jsonl"
        write_model_card(folder, "dense", str(exp.main.path), labels_meta_for(labels if labels.is_file() else None),
                         evaluation or None)


def _versions() -> dict:
    out = {"python": sys.version.split()[0]}
    for pkg in ("torch", "transformers", "pyserini", "faiss-cpu", "ir-measures"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def _device_name(device: str) -> str:
    if device == "cuda":
        import torch

        return torch.cuda.get_device_name()
    return platform.processor() or platform.machine()


def write_report(exp) -> dict:
    results = evaluate_all(exp)
    costs = {}
    for labeler, stage in exp.label_stages.items():
        meta = exp.w / "labels" / f"{labeler}.jsonl.meta.json"
        if meta.is_file():
            m = json.loads(meta.read_text())
            costs[labeler] = {"teacher_cost_seconds": m["teacher_cost_seconds"], **m["seconds"]}
    hybrid = exp.reg.stages.get("hybrid-collective")
    summary = {"dataset": exp.main.name, "profile": exp.config.profile, "settings": exp.s, "results": results,
               "teacher_cost": costs, "labelers_dev_nDCG@10": labeler_dev_quality(exp),
               "fusion": hybrid.info.get("fusion") if hybrid is not None and hybrid.info else None,
               "fusion_tuned_on": {k: hybrid.info.get(k) for k in ("tuned_on", "tuning_queries")} if hybrid is not None and hybrid.info else None,
               "stage_seconds": exp.reg.seconds(),
               "machine": {"platform": platform.platform(), "device": exp.config.device, "device_name": _device_name(exp.config.device),
                           "cpus": __import__("os").cpu_count(), "versions": _versions()}}
    with atomic_output(exp.w / "results.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1, default=str))
    update_model_cards(exp, results)
    with atomic_output(exp.w / "report.md") as tmp:
        tmp.write_text(markdown(summary, exp))
    plot(summary, exp.w / "results.png")
    return summary


def tables(summary: dict) -> str:
    lines = []
    results = summary["results"]
    views = sorted({(d, v) for sys_ in results.values() for d, vs in sys_.items() for v in vs},
                   key=lambda dv: (dv[0] != summary["dataset"], dv))
    for d, v in views:
        lines.append(f"\n{d} / {v}")
        lines.append(f"| system | nDCG@10 | RR@10 | R@100 | R@1000 | p vs student-hard |")
        lines.append("|---|---|---|---|---|---|")
        for system, by_ds in results.items():
            e = by_ds.get(d, {}).get(v)
            if not e:
                continue
            p = e.get("p_vs_student_hard")
            mark = " *" if p is not None and p < 0.05 and e[KEY] > results.get("student-hard", {}).get(d, {}).get(v, {}).get(KEY, 1) else ""
            seeds = f" (seeds: {', '.join(f'{x:.4f}' for x in e['seeds'].values())})" if len(e["seeds"]) > 1 else ""
            lines.append(f"| {system}{seeds} | {e[KEY]:.4f}{mark} | {e['RR@10']:.4f} | {e['R@100']:.4f} | {e['R@1000']:.4f} | "
                         f"{'' if p is None else f'{p:.3g}'} |")
    return "\n".join(lines)


def markdown(summary: dict, exp) -> str:
    out = [f"# pyserini_ckd report: {summary['dataset']} ({summary['profile']} profile)", "",
           f"Device: {summary['machine']['device_name']} ({summary['machine']['device']}). "
           "`*`: nDCG@10 above student-hard with p < 0.05 (paired two-sided t-test on per-query nDCG@10, seeds averaged).",
           tables(summary), "", "## Teacher cost (seconds, from the hard-label warm start to finished labels)", "",
           "| labeler | total | teacher training | index | PRF | scoring |", "|---|---|---|---|---|---|"]
    for labeler, c in summary["teacher_cost"].items():
        out.append(f"| {labeler} | {c['teacher_cost_seconds']:.1f} | {c.get('teacher_training', 0):.1f} | {c.get('index', 0):.1f} | "
                   f"{c.get('prf', 0):.1f} | {c.get('scoring', 0):.1f} |")
    if summary["labelers_dev_nDCG@10"]:
        out += ["", "## Labelers' rankings on the dev slice of the train queries (nDCG@10; no model trained on it)", "",
                "| labeler | nDCG@10 |", "|---|---|"] + [f"| {k} | {v:.4f} |" for k, v in summary["labelers_dev_nDCG@10"].items()]
    if summary.get("fusion"):
        on = summary.get("fusion_tuned_on") or {}
        where = f"{on['tuned_on']}, {on['tuning_queries']} queries" if on.get("tuned_on") else "the dev slice"
        out += ["", f"Hybrid fusion: {summary['fusion']} (tuned on {where})."]
    labels = exp.w / "labels" / "collective.jsonl"
    if labels.is_file():
        out += ["", "## Expansion tokens (collective teacher, first queries)", ""]
        for line in labels.read_text().splitlines()[:3]:
            r = json.loads(line)
            text = exp.main.queries[r["qid"]].text
            out.append(f"- {r['qid']} *{text}*: " + ", ".join(f"{e['token']} ({e['weight']:.2f})" for e in r["expansion"]))
    out += ["", "## Stage seconds", "", "| stage | seconds |", "|---|---|"]
    out += [f"| {k} | {v:.1f} |" for k, v in summary["stage_seconds"].items()]
    return "\n".join(out) + "\n"


def plot(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = summary["results"]
    views = sorted({(d, v) for s in results.values() for d, vs in s.items() for v in vs}, key=lambda dv: (dv[0] != summary["dataset"], dv))
    if not views:
        return
    systems = [s for s in results if s not in REFERENCE]
    fig, axes = plt.subplots(1, len(views), figsize=(3.2 * len(views) + 1, 3.8), squeeze=False)
    for ax, (d, v) in zip(axes[0], views):
        values = [results[s].get(d, {}).get(v, {}).get(KEY, 0) for s in systems]
        ax.bar(range(len(systems)), values, color="#4c72b0")
        for ref, style in zip(REFERENCE, ("--", ":")):
            if d in results.get(ref, {}) and v in results[ref][d]:
                ax.axhline(results[ref][d][v][KEY], color="k", ls=style, lw=1, label=ref)
        ax.set_xticks(range(len(systems)))
        ax.set_xticklabels([s.replace("student-", "") for s in systems], rotation=60, ha="right", fontsize=8)
        ax.set_title(f"{d} / {v}", fontsize=9)
        ax.set_ylabel(KEY)
        ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
