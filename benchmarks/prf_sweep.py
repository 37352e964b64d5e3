"""How ColBERT-PRF's settings change the late-interaction teacher's ranking.

For the late-interaction teacher of a pipeline (or ``benchmarks/teacher_cost.py``) workdir: ranks each
query over the whole corpus without PRF, then with the expansion of its top ``fb_docs`` documents at each
weight scale ``beta`` (optionally leaving subword pieces out of the centroid-to-token mapping). Prints
nDCG@10 on all queries and on two fixed halves (A, B: by a hash of the query id, to choose a setting on
one half and read it on the other), the paired t-test p against no PRF, and R@100 and AP@100.

Queries: ``--split dev`` (default) is the held-out slice of the main dataset's train queries (no model
trained on them; about one labelled passage a query on SciFact); ``--split test`` with ``--dataset
cranfield`` (or cacm, npl) ranks another collection's test queries, judged in depth (many relevant
passages a query), with the same teacher: its token index is built once under ``WORKDIR/prf-sweep``.

    python benchmarks/prf_sweep.py --workdir W [--dataset scifact] [--split dev|test] [--fb-docs 1 2 3] \\
        [--betas 0.1 0.25 0.5 1.0] [--skip-subwords]
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from pyserini_ckd.data.datasets import resolve_dataset
from pyserini_ckd.data.qrels import read_qrels
from pyserini_ckd.data.records import ScoredDoc
from pyserini_ckd.metrics import evaluate_run, paired_t_test
from pyserini_ckd.labeling.teachers import LateInteractionTeacher
from pyserini_ckd.teacher.prf import Expansion, PRFConfig, colbert_prf

MEASURES = ["nDCG@10", "R@100", "AP@100"]


def teacher_dir(workdir: Path) -> Path:
    """The workdir's late-interaction teacher: its own, or the warm start's head (teacher.from_warm_start)."""
    own = workdir / "models" / "teacher-li"
    return own if own.is_dir() else workdir / "models" / "student-hard-warm"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workdir", type=Path, required=True)
    p.add_argument("--dataset", default="scifact")
    p.add_argument("--split", choices=["dev", "test"], default="dev")
    p.add_argument("--fb-docs", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--betas", type=float, nargs="+", default=[0.1, 0.25, 0.5, 1.0])
    p.add_argument("--skip-subwords", action="store_true", help="also try mapping centroids to whole-word tokens only")
    args = p.parse_args()
    w, dataset = args.workdir, resolve_dataset(args.dataset)
    if args.split == "dev":
        qrels = read_qrels(w / dataset.name / "qrels-dev.tsv")
        queries = dataset.split_queries("train")
        index = w / "labels" / "collective.jsonl.teacher-index"
    else:
        qrels = {q: docs for q, docs in dataset.qrels("test").items() if any(r > 0 for r in docs.values())}
        queries = dataset.split_queries("test")
        index = w / "prf-sweep" / f"{dataset.name}.teacher-index"
    half = {q: "A" if int(hashlib.md5(q.encode()).hexdigest(), 16) % 2 == 0 else "B" for q in qrels}
    teacher = LateInteractionTeacher(teacher_dir(w), dataset.corpus, index, PRFConfig())
    vectors = {q: teacher.query(queries[q].text) for q in qrels}
    relevant = sum(sum(r > 0 for r in docs.values()) for docs in qrels.values()) / len(qrels)

    def evaluate(run):
        per_query = evaluate_run({q: [ScoredDoc(d, s) for d, s in hits] for q, hits in run.items()}, qrels, MEASURES).per_query
        ndcg = per_query["nDCG@10"]
        mean = {part: sum(ndcg.get(q, 0.0) for q in qrels if part in ("all", half[q])) / sum(part in ("all", half[q]) for q in qrels)
                for part in ("all", "A", "B")}
        for m in MEASURES[1:]:
            mean[m] = sum(per_query[m].get(q, 0.0) for q in qrels) / len(qrels)
        return mean, ndcg

    first = {q: teacher.rank(v, 100) for q, v in vectors.items()}
    base, base_per_query = evaluate(first)
    print(f"{dataset.name} {args.split}: {len(qrels)} queries (A {sum(h == 'A' for h in half.values())}, "
          f"B {sum(h == 'B' for h in half.values())}), {relevant:.1f} relevant passages a query; teacher {teacher_dir(w)}")
    print("| subword pieces | fb_docs | beta | nDCG@10 all | A | B | p vs no PRF | R@100 | AP@100 |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| | 0 (no PRF) | | {base['all']:.4f} | {base['A']:.4f} | {base['B']:.4f} | | {base['R@100']:.4f} | {base['AP@100']:.4f} |")
    tokenizer = teacher.encoder.tokenizer
    for skip in ([False, True] if args.skip_subwords else [False]):
        special = set(teacher.encoder.special_ids)
        if skip:
            special |= {i for t, i in tokenizer.get_vocab().items() if t.startswith("##")}
        for fb in args.fb_docs:
            config = PRFConfig(fb_docs=fb, beta=1.0)
            expansions = {q: colbert_prf(teacher.index, tokenizer, [teacher.position[d] for d, _ in first[q][:fb]], config, special)
                          for q in vectors}
            for beta in args.betas:
                run = {q: teacher.rank(v, 100, Expansion(expansions[q].vectors, expansions[q].weights * beta)) for q, v in vectors.items()}
                mean, per_query = evaluate(run)
                pvalue = paired_t_test(base_per_query, per_query)
                print(f"| {'skipped' if skip else 'kept'} | {fb} | {beta} | {mean['all']:.4f} | {mean['A']:.4f} | {mean['B']:.4f} | "
                      f"{'< 0.001' if pvalue < 0.001 else f'{pvalue:.3f}'} | {mean['R@100']:.4f} | {mean['AP@100']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
