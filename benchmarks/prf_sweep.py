"""How ColBERT-PRF's settings change the teacher's ranking of held-out train queries.

For the late-interaction teacher of a pipeline (or ``benchmarks/teacher_cost.py``) workdir: ranks each
dev query (the held-out slice of the train queries, which no model trained on) over the whole corpus
without PRF, then with the expansion of its top ``fb_docs`` documents at each weight scale ``beta``
(optionally leaving subword pieces out of the centroid-to-token mapping). Prints nDCG@10 on all dev
queries and on two fixed halves (A, B: by a hash of the query id, to choose a setting on one half and
read it on the other), and the paired t-test p against no PRF.

    python benchmarks/prf_sweep.py --workdir W [--fb-docs 1 2 3] [--betas 0.1 0.25 0.5 1.0] [--skip-subwords]
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from pyserini_ckd.data.datasets import resolve_dataset
from pyserini_ckd.data.qrels import read_qrels
from pyserini_ckd.data.records import ScoredDoc
from pyserini_ckd.evaluation import evaluate_run, paired_t_test
from pyserini_ckd.labeling.teachers import LateInteractionTeacher
from pyserini_ckd.teacher.prf import Expansion, PRFConfig, colbert_prf


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workdir", type=Path, required=True)
    p.add_argument("--dataset", default="scifact")
    p.add_argument("--fb-docs", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--betas", type=float, nargs="+", default=[0.1, 0.25, 0.5, 1.0])
    p.add_argument("--skip-subwords", action="store_true", help="also try mapping centroids to whole-word tokens only")
    args = p.parse_args()
    w, dataset = args.workdir, resolve_dataset(args.dataset)
    dev = read_qrels(w / dataset.name / "qrels-dev.tsv")
    half = {q: "A" if int(hashlib.md5(q.encode()).hexdigest(), 16) % 2 == 0 else "B" for q in dev}
    teacher = LateInteractionTeacher(w / "models" / "teacher-li", dataset.corpus, w / "labels" / "collective.jsonl.teacher-index",
                                     PRFConfig())
    queries = dataset.split_queries("train")
    vectors = {q: teacher.query(queries[q].text) for q in dev}

    def evaluate(run):
        per_query = evaluate_run({q: [ScoredDoc(d, s) for d, s in hits] for q, hits in run.items()}, dev, ["nDCG@10"]).per_query["nDCG@10"]
        mean = {part: sum(per_query.get(q, 0.0) for q in dev if part in ("all", half[q])) / sum(part in ("all", half[q]) for q in dev)
                for part in ("all", "A", "B")}
        return mean, per_query

    first = {q: teacher.rank(v, 100) for q, v in vectors.items()}
    base, base_per_query = evaluate(first)
    print(f"dev queries: {len(dev)} (A {sum(h == 'A' for h in half.values())}, B {sum(h == 'B' for h in half.values())})")
    print("| subword pieces | fb_docs | beta | nDCG@10 all | A | B | p vs no PRF |")
    print("|---|---|---|---|---|---|---|")
    print(f"| | 0 (no PRF) | | {base['all']:.4f} | {base['A']:.4f} | {base['B']:.4f} | |")
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
                print(f"| {'skipped' if skip else 'kept'} | {fb} | {beta} | {mean['all']:.4f} | {mean['A']:.4f} | {mean['B']:.4f} | "
                      f"{paired_t_test(base_per_query, per_query):.3f} |", flush=True)


if __name__ == "__main__":
    main()
