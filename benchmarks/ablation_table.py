"""The ablation table of ``benchmarks/ablation.sh``: nDCG@10 of each row on the five views, seeds averaged per
query, the new-question views pooled with paired t-tests against zero-shot MiniLM and the last-step hard student.

    python benchmarks/ablation_table.py W          (writes W/ablation/ablation.json and W/ablation/ablation.md)
"""
import json
import sys
from pathlib import Path

from pyserini_ckd.data.datasets import resolve_dataset
from pyserini_ckd.data.runs import read_run
from pyserini_ckd.metrics import evaluate_run, paired_t_test

w = Path(sys.argv[1])
a = w / "ablation" / "runs"
rows = [("zero-shot MiniLM", [w / "runs" / "zeroshot.{ds}.test.trec"]),
        ("pipeline: hard (selected)", [w / "runs" / "student-hard.{ds}.test.trec", w / "runs" / "student-hard.s43.{ds}.test.trec"]),
        ("pipeline: collective (selected)", [w / "runs" / "student-collective.{ds}.test.trec", w / "runs" / "student-collective.s43.{ds}.test.trec"])]
for labeler in ("hard", "uniform", "teacher", "cross-encoder", "collective"):
    rows.append((f"{labeler}, last step", [a / f"{labeler}-last.s42.{{ds}}.test.trec", a / f"{labeler}-last.s43.{{ds}}.test.trec"]))
rows += [("hard, BM25 top-100 negatives (seed 42)", [a / "hard-bm25-negatives.s42.{ds}.test.trec"]),
         ("collective, T = 0.25 (seed 42)", [a / "collective-t0.25.s42.{ds}.test.trec"]),
         ("collective, expanded-ranking negatives (seed 42)", [a / "collective-expanded.s42.{ds}.test.trec"]),
         ("collective last step, interpolated (seed 42)", [a / "collective-interpolated.s42.{ds}.test.trec"])]
views = [("scifact", "test"), ("scifact", "test-unseen"), ("cranfield", "test"), ("cacm", "test"), ("npl", "test")]
qrels = {v: resolve_dataset(v[0]).qrels(v[1], check_docs=False) for v in views}
table, pooled, seeds = {}, {}, {}
for name, patterns in rows:
    for ds, view in views:
        per_seed = [evaluate_run(read_run(Path(str(p).format(ds=ds))), qrels[(ds, view)], ["nDCG@10"], name).per_query["nDCG@10"]
                    for p in patterns if Path(str(p).format(ds=ds)).is_file()]
        if not per_seed:
            continue
        seeds[name] = min(seeds.get(name, len(per_seed)), len(per_seed))  # a seed missing in any view shows
        mean = {q: sum(p[q] for p in per_seed) / len(per_seed) for q in per_seed[0]}
        table.setdefault(name, {})[f"{ds}/{view}"] = round(sum(mean.values()) / len(mean), 4)
        if (ds, view) != ("scifact", "test"):
            pooled.setdefault(name, {}).update({f"{ds}:{q}": v for q, v in mean.items()})
n = max(len(v) for v in pooled.values())
for name, values in pooled.items():
    if len(values) < n:
        continue
    table[name]["new questions pooled"] = round(sum(values.values()) / len(values), 4)
    for ref, col in (("zero-shot MiniLM", "p vs zero-shot"), ("hard, last step", "p vs hard last step")):
        if name != ref and ref in pooled and len(pooled[ref]) == n:
            table[name][col] = round(paired_t_test(pooled[ref], values), 4)
    table[name]["seeds"] = seeds[name]
interp = w / "ablation" / "collective-interpolated.s42" / "interpolation.json"
out = {"temperature_dev": json.loads((w / "labels" / "collective.temperature.json").read_text())["temperature"],
       "interpolation_lambda": json.loads(interp.read_text())["lambda"] if interp.is_file() else None, "rows": table}
(w / "ablation" / "ablation.json").write_text(json.dumps(out, indent=1))
cols = [f"{d}/{v}" for d, v in views] + ["new questions pooled", "p vs zero-shot", "p vs hard last step", "seeds"]
lines = ["| row | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
lines += [f"| {name} | " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for name, r in table.items()]
(w / "ablation" / "ablation.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
print(f"dev temperature {out['temperature_dev']}, interpolation lambda {out['interpolation_lambda']}")
