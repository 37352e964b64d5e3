"""Labels from the approximate first stage against the exact one, on a real teacher and collection.

    python benchmarks/approx_labels.py --workdir W [--profile quick] [--labeler collective] [--ncells 32] [--ndocs N] [--nexact N] \
        [--ndecompress N [--residual-bits 2]] [--streamed [--prf-from codes|vectors] [--prf-cells 2]]

Uses the pipeline's workdir W (its teacher, token index and negatives; built first where missing, as the
pipeline would) and writes the labeler's labels twice under ``W/approx-labels/``: with the teacher's exact
first stage and with the approximate one (centroid interaction, then exact MaxSim on ``--nexact``
documents; the centres and lists are built once into the token index's ``ivf/``). Reports, over the
labelled queries: the share of candidates that differ (|exact \\ approximate| / |exact| a query, then the
mean), how many queries have any difference, the largest difference of a shared candidate's score, and
the nDCG@10 of each path's teacher ranking on the held-out train queries (the pipeline's dev slice, which
no model trains on), with a paired t-test. ``--ndecompress`` adds PLAID's decompression stage from residual codes
(built once into ``ivf/residuals/``). ``--streamed`` runs the approximate path as past the in-memory size (2 M
token vectors): PRF's nearest tokens then come from each centroid's ``--prf-cells`` best lists, ranked from the
codes (``--prf-from codes``, the default) or from every probed vector (the exact path stays in memory). Writes ``W/approx-labels/approx_labels.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path


def main(argv=None) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from pyserini_ckd.data.qrels import read_qrels
    from pyserini_ckd.data.runs import read_run
    from pyserini_ckd.labeling.job import run_label
    from pyserini_ckd.metrics import evaluate_run, paired_t_test
    from pyserini_ckd.pipeline.__main__ import add_experiment_arguments, config_from_args
    from pyserini_ckd.pipeline.experiment import Experiment
    from pyserini_ckd.teacher.centroid_index import PRF_FROM, Approximate
    from pyserini_ckd.teacher.token_index import TokenIndex
    from pyserini_ckd.training.holdout import write_holdout_qrels

    p = add_experiment_arguments(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    p.add_argument("--labeler", default="collective", choices=["collective", "teacher"])
    p.add_argument("--ncells", type=int, default=Approximate.ncells)
    p.add_argument("--ndocs", type=int, help="default: sized to the collection")
    p.add_argument("--nexact", type=int, help="default: sized to ndocs")
    p.add_argument("--ndecompress", type=int, help="documents ranked from residual codes (0: no such stage; default: sized "
                                                  "to ndocs, none below 32,768)")
    p.add_argument("--residual-bits", type=int, default=Approximate.residual_bits)
    p.add_argument("--streamed", action="store_true", help="the approximate path as a streamed index: PRF through the lists")
    p.add_argument("--prf-from", choices=PRF_FROM, default=PRF_FROM[0], help="streamed PRF's probed lists ranked by")
    p.add_argument("--prf-cells", type=int, default=Approximate.prf_cells)
    p.set_defaults(transfer=[])
    args = p.parse_args(argv)
    config = config_from_args(args)
    config.settings["labels"]["labelers"] = [args.labeler]
    exp = Experiment(config)
    if not exp.dev_qrels.is_file():
        write_holdout_qrels(exp.main.qrels("train"), set(exp.dev_queries()), exp.dev_qrels)
    exp.label_stages[args.labeler].ensure()  # the teacher, its token index and the negatives, as the pipeline makes them
    out_dir = exp.w / "approx-labels"
    out_dir.mkdir(parents=True, exist_ok=True)
    base = exp.label_job(args.labeler, exp.li_teacher_dir, out_dir / "exact.jsonl")
    rows, seconds = {}, {}
    for mode in ("exact", "approximate"):
        job = dataclasses.replace(base, output=out_dir / f"{mode}.jsonl", run=out_dir / f"{mode}.trec", first_stage=mode,
                                  ncells=args.ncells, ndocs=args.ndocs, nexact=args.nexact, ndecompress=args.ndecompress,
                                  residual_bits=args.residual_bits, prf_from=args.prf_from, prf_cells=args.prf_cells,
                                  in_memory_tokens=0 if mode == "approximate" and args.streamed else None)  # as past 2 M
        started = time.perf_counter()
        run_label(job)
        seconds[mode] = round(time.perf_counter() - started, 1)
        rows[mode] = {r["qid"]: r for r in map(json.loads, job.output.read_text().splitlines())}
    differ, max_diff, changed = [], 0.0, 0
    for qid, exact in rows["exact"].items():
        a = {c["docid"]: c["score"] for c in exact["candidates"]}
        b = {c["docid"]: c["score"] for c in rows["approximate"][qid]["candidates"]}
        missing = len(set(a) - set(b))
        differ.append(missing / max(1, len(a)))
        changed += missing > 0
        max_diff = max([max_diff] + [abs(a[d] - b[d]) for d in set(a) & set(b)])
    dev = read_qrels(exp.dev_qrels)
    evaluations = {mode: evaluate_run({q: h for q, h in read_run(out_dir / f"{mode}.trec").items() if q in dev}, dev, ["nDCG@10"])
                   for mode in ("exact", "approximate")}
    ivf = json.loads((base.index / "ivf" / "ivf.json").read_text())
    sized = Approximate(ncells=args.ncells, ndocs=args.ndocs, nexact=args.nexact,
                        ndecompress=args.ndecompress).sized(TokenIndex.load(base.index).num_docs)
    result = {
        "labeler": args.labeler, "queries": len(rows["exact"]), "dev_queries": len(dev),
        "token_vectors": ivf["tokens"], "centroids": ivf["centroids"], "ivf_seconds": ivf["seconds"],
        **{k: getattr(sized, k) for k in ("ncells", "ndocs", "nexact")},
        "ndecompress": sized.ndecompress or None, "residual_bits": args.residual_bits if sized.ndecompress or (args.streamed and args.prf_from == "codes") else None,
        "streamed": args.streamed, "prf_cells": args.prf_cells if args.streamed else None, "prf_from": args.prf_from if args.streamed else None,
        "candidates_differing": round(sum(differ) / len(differ), 4), "queries_with_a_difference": changed,
        "max_shared_score_difference": max_diff,
        "dev_nDCG@10": {mode: round(e.aggregates["nDCG@10"], 4) for mode, e in evaluations.items()},
        "p_approximate_vs_exact": paired_t_test(evaluations["approximate"].per_query["nDCG@10"],
                                                evaluations["exact"].per_query["nDCG@10"]),
        "label_seconds": seconds,
    }
    (out_dir / "approx_labels.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
