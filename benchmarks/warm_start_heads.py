"""Does the late-interaction head cost the dense warm start anything?

For a ``benchmarks/teacher_cost.py`` workdir run with ``teacher.from_warm_start`` (the joint warm start):
trains a dense-only warm start with the same settings, seed and queries (once; the pipeline's own train
flags), then ranks the held-out dev slice of the train queries with each (exact dense search over the
corpus, the pipeline's dense-search stage) and prints nDCG@10, the paired t-test p between them, the
late-interaction head's own nDCG@10 (the ``teacher`` labeler's ranking) and each warm start's training
seconds.

    python benchmarks/warm_start_heads.py --workdir W --profile quick --config benchmarks/configs/teacher_cost_joint_cpu.json
"""

from __future__ import annotations

import argparse
import json

from pyserini_ckd.data.qrels import read_qrels
from pyserini_ckd.data.runs import read_run
from pyserini_ckd.metrics import evaluate_run, paired_t_test
from pyserini_ckd.pipeline.__main__ import add_experiment_arguments, config_from_args
from pyserini_ckd.pipeline.experiment import Experiment
from pyserini_ckd.training.job import run_train


def main() -> None:
    p = add_experiment_arguments(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    p.set_defaults(transfer=[])
    args = p.parse_args()
    exp = Experiment(config_from_args(args))
    if not exp.teacher_is_warm_start:
        raise SystemExit("this workdir's settings have teacher.from_warm_start false: nothing to compare")
    joint = exp.model_dir("student-hard-warm")
    dense_only = exp.model_dir("student-hard-warm-dense-only")
    if not (joint / "train_config.json").is_file():
        raise SystemExit(f"no joint warm start in {joint}: run benchmarks/teacher_cost.py on this workdir first")
    if not (dense_only / "train_config.json").is_file():
        run_train(exp.train_job(exp.seed0, "dense", exp.sized_base(), dense_only, exp.s["warm_start"]))
    qrels = read_qrels(exp.dev_qrels)
    queries = exp.dev_queries()
    key = "nDCG@10"
    per_query, rows = {}, []
    for name, model in (("joint warm start, dense head", joint), ("dense-only warm start", dense_only)):
        run = exp.dense_search(model, exp.main, queries, exp.w / "dense" / exp.main.name / model.name, 100)
        per_query[name] = evaluate_run(run, qrels, [key]).per_query[key]
        seconds = json.loads((model / "train_config.json").read_text())["train_seconds"]
        rows.append((name, sum(per_query[name].values()) / len(qrels), seconds))
    teacher_run = exp.run_path("labeler-teacher", exp.main.name, "train")
    li = None
    if teacher_run.is_file():
        li = evaluate_run({q: h for q, h in read_run(teacher_run).items() if q in qrels}, qrels, [key]).aggregates[key]
    print(f"{len(qrels)} held-out dev queries")
    print("| model | nDCG@10 | training seconds |")
    print("|---|---|---|")
    for name, value, seconds in rows:
        print(f"| {name} | {value:.4f} | {seconds:.1f} |")
    if li is not None:
        print(f"| joint warm start, late-interaction head (the teacher labeler's ranking) | {li:.4f} | |")
    a, b = per_query.values()
    print(f"dense heads, paired t-test p = {paired_t_test(a, b):.3f}")


if __name__ == "__main__":
    main()
