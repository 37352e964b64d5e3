"""Evaluate every run and write ``results.json``, ``report.md`` and ``results.png``.

Views: every ``test*`` qrels file of each dataset (SciFact: ``test`` and ``test-unseen``). A system trained
with several seeds is scored per seed and, for the table, by the per-query mean over seeds; its p-value
is a paired two-sided t-test of those per-query nDCG@10 means against ``student-hard``'s.

Against zero-shot, each system's difference Delta = mean_q (x_q - z_q) comes with a 95% paired bootstrap
interval (queries resampled with replacement, 2000 draws, seed 0): the percentiles 2.5 and 97.5 of the
resampled means. "New questions" pools the per-query values of the views no training query shares relevant
documents with (the main dataset's ``test-unseen`` and every transfer collection's ``test``), each query once,
for the paired tests the goals are stated in (the student against hard labels and against zero-shot).
"""

from __future__ import annotations

import json
import platform
import re
import sys
from importlib import metadata
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..atomic import atomic_output
from ..data.runs import read_run
from ..metrics import DEFAULT_MEASURES, evaluate_run, paired_t_test
from ..labeling.labels import meta_path

KEY = "nDCG@10"


def _base(system: str) -> str:
    return re.sub(r"\.s\d+$", "", system)


def evaluate_all(exp, per_query: Optional[Dict[Tuple[str, str, str], Dict[str, float]]] = None) -> dict:
    """Aggregates per system, dataset and view; ``per_query`` (if given) receives each system's per-query
    nDCG@10, seeds averaged, under (system, dataset, view)."""
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
            zero = per_system.get("zeroshot")
            zero_pq = _mean_per_query(zero) if zero else None
            for base, evals in per_system.items():
                pq = _mean_per_query(evals)
                if per_query is not None:
                    per_query[(base, d.name, view)] = pq
                agg = {m: sum(e.aggregates[m] for _, e in evals) / len(evals) for m in evals[0][1].aggregates}
                entry = {**{m: round(v, 4) for m, v in agg.items()}, "seeds": {s: round(e.aggregates[KEY], 4) for s, e in evals}}
                if hard_pq is not None and base != "student-hard":
                    entry["p_vs_student_hard"] = paired_t_test(hard_pq, pq)
                if zero_pq is not None and base != "zeroshot":
                    delta, low, high = bootstrap_delta(zero_pq, pq)
                    entry["delta_vs_zeroshot"] = {"mean": delta, "ci95": [low, high]}
                    entry["p_vs_zeroshot"] = paired_t_test(zero_pq, pq)
                results.setdefault(base, {}).setdefault(d.name, {})[view] = entry
    return results


def bootstrap_delta(base: Dict[str, float], system: Dict[str, float], draws: int = 2000, seed: int = 0) -> Tuple[float, float, float]:
    """mean_q (system_q - base_q) and its 95% paired bootstrap interval (see the module docstring)."""
    qids = sorted(set(base) & set(system))
    diff = np.array([system[q] - base[q] for q in qids])
    if not len(diff):
        return 0.0, 0.0, 0.0
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(draws, len(diff)))].mean(axis=1)
    return round(float(diff.mean()), 4), round(float(np.percentile(means, 2.5)), 4), round(float(np.percentile(means, 97.5)), 4)


def new_question_views(exp) -> List[Tuple[str, str]]:
    views = [(exp.main.name, v) for v in exp.main.splits if v == "test-unseen"]
    return views + [(d.name, "test") for d in exp.transfer]


def pooled_new_questions(exp, per_query: Dict[Tuple[str, str, str], Dict[str, float]]) -> dict:
    """Per system: mean nDCG@10 over the pooled new-question queries, and paired p against student-hard and
    zero-shot (see the module docstring)."""
    views = new_question_views(exp)
    pooled: Dict[str, Dict[str, float]] = {}
    for (system, d, v), values in per_query.items():
        if (d, v) in views:
            pooled.setdefault(system, {}).update({f"{d}:{q}": x for q, x in values.items()})
    n = max((len(x) for x in pooled.values()), default=0)
    out = {}
    for system, values in pooled.items():
        if len(values) < n:  # a system without every view is not comparable on the pool
            continue
        entry = {"mean": round(float(np.mean(list(values.values()))), 4), "queries": len(values)}
        for ref in ("student-hard", "zeroshot"):
            if ref in pooled and ref != system and len(pooled[ref]) == n:
                entry[f"p_vs_{ref}"] = paired_t_test(pooled[ref], values)
        out[system] = entry
    return {"views": [f"{d}/{v}" for d, v in views], "systems": out}


def label_audit(exp) -> dict:
    """Per labels file, at the temperature its student trains at: the audit figures of
    :mod:`pyserini_ckd.labeling.audit` over the training rows (dev rows excluded), and for the collective
    labels the share of the targets that the expansion moves."""
    from ..labeling.audit import PROBABILITY_LABELERS, audit_file, expansion_effect, summarise
    from ..labeling.labels import read_labels

    dev = set(exp.read_dev_qrels())
    out, records = {}, {}
    for labeler in exp.label_names():
        path = exp.labels_path(labeler)
        if not path.is_file():
            continue
        rows = [r for r in read_labels(path) if r["qid"] not in dev]
        records[labeler] = rows
        t = None if labeler in PROBABILITY_LABELERS else exp.student_temperature(labeler)  # hard, uniform: their own targets
        out[labeler] = {"temperature": t, **summarise(audit_file(rows, labeler, t or 1.0))}
    if "collective" in records and "teacher" in records:
        effect = expansion_effect(records["collective"], records["teacher"], out["collective"]["temperature"])
        if effect:
            out["collective"]["expansion"] = effect
    return out


def _mean_per_query(evals) -> Dict[str, float]:
    qids = evals[0][1].per_query[KEY].keys()
    return {q: sum(e.per_query[KEY][q] for _, e in evals) / len(evals) for q in qids}


def labeler_dev_quality(exp) -> Dict[str, float]:
    qrels = exp.read_dev_qrels()
    if not qrels:
        return {}
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
        labels = exp.labels_path(labeler)
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
    per_query: Dict[Tuple[str, str, str], Dict[str, float]] = {}
    results = evaluate_all(exp, per_query)
    costs = {}
    for labeler, stage in exp.label_stages.items():
        meta = meta_path(exp.labels_path(labeler))
        if meta.is_file():
            m = json.loads(meta.read_text())
            costs[labeler] = {"teacher_cost_seconds": m["teacher_cost_seconds"], **m["seconds"]}
    hybrid = exp.reg.stages.get("hybrid-collective")
    summary = {"dataset": exp.main.name, "profile": exp.config.profile, "settings": exp.s, "results": results,
               "teacher_cost": costs, "labelers_dev_nDCG@10": labeler_dev_quality(exp),
               "fusion": hybrid.info.get("fusion") if hybrid is not None and hybrid.info else None,
               "fusion_tuned_on": {k: hybrid.info.get(k) for k in ("tuned_on", "tuning_queries")} if hybrid is not None and hybrid.info else None,
               "new_questions": pooled_new_questions(exp, per_query),
               "label_audit": label_audit(exp),
               "temperatures": {l: json.loads(exp.temperature_path(l).read_text()) for l in exp.labelers
                                if exp.temperature_path(l).is_file()},
               "selection": _selection_summary(exp),
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


def _selection_summary(exp) -> dict:
    """The step each selected model kept, and its held-out score (from its train_config.json)."""
    out = {}
    for folder in sorted((exp.w / "models").glob("*/train_config.json")) if (exp.w / "models").is_dir() else []:
        sel = json.loads(folder.read_text()).get("selection")
        if sel:
            out[folder.parent.name] = {"chosen_step": sel["chosen_step"], "of": max(int(k) for k in sel["history"]),
                                       "score": sel["chosen_score"], "start": sel["history"].get("0")}
    return out


FIVE_VIEW_ORDER = ("zeroshot", "bm25", "student-hard", "student-uniform", "student-teacher", "student-cross-encoder",
                   "student-collective", "hybrid-collective")


def ordered_views(summary: dict) -> List[Tuple[str, str]]:
    """Every (dataset, view) with results: the main dataset first, then the transfer collections in the profile's order."""
    main, transfer = summary["dataset"], list((summary.get("settings") or {}).get("transfer") or [])

    def key(dv: Tuple[str, str]):
        return dv[0] != main, transfer.index(dv[0]) if dv[0] in transfer else len(transfer), dv

    return sorted({(d, v) for s in summary["results"].values() for d, vs in s.items() for v in vs}, key=key)


def five_views(summary: dict) -> str:
    """One table: nDCG@10 on the main test set, its unseen part and each transfer collection (seeds averaged;
    each seed in brackets), and the pooled new questions."""
    results, main = summary["results"], summary["dataset"]
    views = [(d, v) for d, v in ordered_views(summary) if v == "test" or (d, v) == (main, "test-unseen")]
    pooled = (summary.get("new_questions") or {}).get("systems", {})
    head = ["system"] + [f"{d} {'unseen' if v == 'test-unseen' else 'all'}" if d == main else d for d, v in views] + ["new questions pooled"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    order = [s for s in FIVE_VIEW_ORDER if s in results] + [s for s in results if s not in FIVE_VIEW_ORDER]
    for system in order:
        cells = [system]
        for d, v in views:
            e = results[system].get(d, {}).get(v)
            if not e:
                cells.append("")
                continue
            seeds = f" ({' / '.join(f'{x:.4f}' for x in e['seeds'].values())})" if len(e["seeds"]) > 1 else ""
            cells.append(f"{e[KEY]:.4f}{seeds}")
        pq = pooled.get(system)
        cells.append("" if not pq else f"{pq['mean']:.4f}" + "".join(
            f", p vs {r.replace('student-', '')} {pq[f'p_vs_{r}']:.3g}" for r in ("zeroshot", "student-hard") if f"p_vs_{r}" in pq))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def tables(summary: dict) -> str:
    lines = []
    results = summary["results"]
    views = ordered_views(summary)
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
           "", "## Five views (nDCG@10)", "", five_views(summary), "", "## Every view", tables(summary), "", "## Teacher cost (seconds, from the hard-label warm start to finished labels)", "",
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
    if summary.get("label_audit"):
        out += ["", "## Label audit (training rows, at the temperature each student trains at)", "",
                "| labels | T | mass on positives | off-positive mass | rows > 5% off | off-positive from bm25 / teacher / both |"
                " expansion: target TV, top changed |", "|---|---|---|---|---|---|---|"]
        for labeler, a in summary["label_audit"].items():
            src = a.get("off_positive_mass_by_source", {})
            effect = a.get("expansion") or {}
            moved = f"{effect['target_total_variation']}, {effect['top_unlabelled_changed']}" if effect else ""
            out.append(f"| {labeler} | {'' if a['temperature'] is None else a['temperature']} | {a['positive_mass']} | "
                       f"{a['off_positive_mass']} | {a['rows_off_positive_over_5pct']} | "
                       f"{src.get('bm25')} / {src.get('teacher')} / {src.get('bm25+teacher')} | {moved} |")
    if summary.get("temperatures"):
        out += ["", "## Temperatures chosen on the dev rows (lowest held-out NLL)", "", "| labels | chosen T | epsilon-matched T | "
                "dev NLL by T |", "|---|---|---|---|"]
        for labeler, t in summary["temperatures"].items():
            nll = ", ".join(f"{row['temperature']:g}: {row['dev_nll']:.3f}" for row in t["table"])
            out.append(f"| {labeler} | {t['temperature']:g} | {t['epsilon_matched_temperature']} | {nll} |")
    if summary.get("selection"):
        out += ["", "## Steps kept on the unseen dev slice (re-ranking BM25's top candidates, nDCG@10)", "",
                "| model | step kept / last | score | at step 0 |", "|---|---|---|---|"]
        out += [f"| {m} | {v['chosen_step']} / {v['of']} | {v['score']:.4f} | {v['start']} |" for m, v in summary["selection"].items()]
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
    """Per view, each system's nDCG@10 minus zero-shot's, with its 95% paired bootstrap interval: the bars
    start at zero-shot, so a bar below 0 is a system worse than the model it started from."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = summary["results"]
    views = ordered_views(summary)
    if not views:
        return
    systems = [s for s in results if s != "zeroshot"]
    fig, axes = plt.subplots(1, len(views), figsize=(3.2 * len(views) + 1, 3.8), squeeze=False, sharey=True)
    for ax, (d, v) in zip(axes[0], views):
        shown = [(s, results[s][d][v]["delta_vs_zeroshot"]) for s in systems if "delta_vs_zeroshot" in results[s].get(d, {}).get(v, {})]
        if shown:
            means = [x["mean"] for _, x in shown]
            errors = [[m - x["ci95"][0] for m, (_, x) in zip(means, shown)], [x["ci95"][1] - m for m, (_, x) in zip(means, shown)]]
            colours = ["#4c72b0" if lo > 0 else "#c44e52" if hi < 0 else "#8c8c8c" for lo, hi in (x["ci95"] for _, x in shown)]
            ax.bar(range(len(shown)), means, yerr=errors, color=colours, capsize=2)
            ax.set_xticks(range(len(shown)))
            ax.set_xticklabels([s.replace("student-", "") for s, _ in shown], rotation=60, ha="right", fontsize=8)
        ax.axhline(0, color="k", lw=1)
        zero = results.get("zeroshot", {}).get(d, {}).get(v, {}).get(KEY)
        ax.set_title(f"{d} / {v}" + (f" (zero-shot {zero:.3f})" if zero is not None else ""), fontsize=8)
    axes[0][0].set_ylabel(f"{KEY} minus zero-shot (95% bootstrap)")
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
