"""Teacher cost and held-out ranking quality of the labelers, measured in one run on this machine.

Runs the pipeline's teacher and label stages only (no students), with the pipeline's code and cache:
BM25 index and negatives, the late-interaction teacher, the cross-encoder, then ``labels.LABELER`` for
each labeler. Prints, per labeler, the teacher cost (seconds from the hard-label warm start to finished
labels: training of its own model, indexing, PRF, scoring) and the nDCG@10 of the labeler's ranking on
the dev slice of the train queries (no model trains on it).

    python benchmarks/teacher_cost.py --workdir W [--profile quick] [--config FILE] \\
        [--labelers collective teacher cross-encoder]

With ``benchmarks/configs/teacher_cost_joint_cpu.json`` (``teacher.from_warm_start``) the late-interaction
teacher is a head of the warm start, trained with it (the paper's accounting: no training of its own);
the warm start's training seconds are printed beside the table.
"""

from __future__ import annotations

import argparse
import json
import platform

from pyserini_ckd.atomic import atomic_output
from pyserini_ckd.data.qrels import read_qrels
from pyserini_ckd.data.runs import read_run
from pyserini_ckd.metrics import evaluate_run, paired_t_test
from pyserini_ckd.labeling.labels import meta_path
from pyserini_ckd.pipeline.__main__ import add_experiment_arguments, config_from_args
from pyserini_ckd.pipeline.experiment import Experiment
from pyserini_ckd.pipeline.report import labeler_dev_quality
from pyserini_ckd.training.holdout import write_holdout_qrels


def main() -> None:
    p = add_experiment_arguments(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    p.add_argument("--labelers", nargs="+", default=["collective", "teacher", "cross-encoder"])
    p.set_defaults(transfer=[])  # no transfer set is labelled: skip reading their corpora
    args = p.parse_args()
    config = config_from_args(args)
    config.settings["labels"]["labelers"] = list(args.labelers)
    exp = Experiment(config)
    if not exp.dev_qrels.is_file():  # written by the warm start in the pipeline; no student is trained here
        write_holdout_qrels(exp.main.qrels("train"), set(exp.dev_queries()), exp.dev_qrels)
    for labeler in args.labelers:
        exp.label_stages[labeler].ensure()
    exp.bm25_runs[f"{exp.main.name}.train"].ensure()  # BM25's ranking of the dev queries, the reference
    quality = labeler_dev_quality(exp)
    rows = {}
    for labeler in args.labelers:
        meta = json.loads(meta_path(exp.labels_path(labeler)).read_text())
        rows[labeler] = {"teacher_cost_seconds": meta["teacher_cost_seconds"], **meta["seconds"], "queries": meta["queries"],
                         "dev_nDCG@10": quality.get(labeler)}
    warm_seconds = json.loads((exp.model_dir("student-hard-warm") / "train_config.json").read_text())["train_seconds"] \
        if exp.teacher_is_warm_start else None
    summary = {"labelers": rows, "warm_start_train_seconds": warm_seconds, "bm25_dev_nDCG@10": quality.get("bm25 (reference)"),
               "dev_queries": len(exp.dev_queries()),
               "settings": exp.s, "machine": platform.platform(), "device": args.device}
    with atomic_output(exp.w / "teacher_cost.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1))
    print("| labeler | teacher cost (s) | training | index | PRF | scoring | queries labelled | dev nDCG@10 |")
    print("|---|---|---|---|---|---|---|---|")
    for labeler, r in rows.items():
        print(f"| {labeler} | {r['teacher_cost_seconds']:.1f} | {r.get('teacher_training', 0):.1f} | {r.get('index', 0):.1f} | "
              f"{r.get('prf', 0):.1f} | {r.get('scoring', 0):.1f} | {r['queries']} | {r['dev_nDCG@10']} |")
    print(f"| BM25 (reference) | | | | | | | {summary['bm25_dev_nDCG@10']} |")
    if warm_seconds is not None:
        print(f"warm start with the late-interaction head that is the teacher (the checkpoint every student starts from; "
              f"not teacher cost): {warm_seconds:.1f} s of training")
    if "collective" in rows and "teacher" in rows:
        dev = read_qrels(exp.dev_qrels)
        per_query = [evaluate_run(read_run(exp.run_path(f"labeler-{labeler}", exp.main.name, "train")), dev, ["nDCG@10"])
                     .per_query["nDCG@10"] for labeler in ("collective", "teacher")]
        print(f"collective against teacher on the dev queries: paired t-test p = {paired_t_test(*per_query):.3g}")
    if "collective" in rows and "cross-encoder" in rows:
        ratio = rows["cross-encoder"]["teacher_cost_seconds"] / rows["collective"]["teacher_cost_seconds"]
        print(f"cross-encoder / collective teacher cost: {ratio:.2f}")


if __name__ == "__main__":
    main()
