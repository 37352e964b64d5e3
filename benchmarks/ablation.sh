#!/usr/bin/env bash
# What each part of the compare-cpu design does: model selection, the shared pool, the dev temperature, the
# plain-ranking negatives and interpolation, each undone in turn, on the five views (SciFact all and unseen,
# cranfield, cacm, npl). Run after the pipeline, on its workdir (it reuses the pool, labels, teacher and the
# students' last checkpoints):
#   python -m pyserini_ckd.pipeline --profile compare-cpu --workdir W
#   bash benchmarks/ablation.sh W                 (writes W/ablation/ablation.{json,md}; about 4 minutes of encoding
#                                                  per model and 5 of training per retrained one, on 2 cores)
# Models, in the order they are made (each step is skipped when its output exists, so a rerun continues):
#   LABELER-last.s42              every seed-42 pipeline student's weights at its last step: no model selection
#   hard-bm25-negatives.s42       the hard student on BM25's top-100 negatives instead of the pool (the old design)
#   collective-t0.25.s42          collective labels at the paper's temperature instead of the dev choice
#   collective-expanded.s42       collective labels with teacher negatives from the PRF-expanded ranking (own pool)
#   collective-interpolated.s42   theta = (1 - lambda) theta_0 + lambda theta of collective-last, lambda on the dev slice
#   LABELER-last.s43              the same for the second seed
# The retrained rows have no model selection either, so each compares with collective-last / hard-last.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYSERINI_CKD_DATA=${PYSERINI_CKD_DATA:-../shared/data} HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY=${PY:-.venv/bin/python}; W=${1:?workdir of a compare-cpu pipeline run}
A=$W/ablation; mkdir -p $A/runs
T=$($PY -c "import json; print(json.load(open('$W/labels/collective.temperature.json'))['temperature'])")

evaluate_model() {  # NAME: encode the four corpora at 256 tokens, search, keep the runs
  local m=$1 ds run
  for ds in scifact cranfield cacm npl; do
    run=$A/runs/$m.$ds.test.trec
    [ -f $run ] && continue
    $PY -m pyserini_ckd.encode input --corpus $ds output --embeddings $A/dense/$ds/$m \
      encoder --encoder $A/$m --batch-size 32 --max-length 256
    $PY -m pyserini_ckd.search --dataset $ds --split test --dense $A/dense/$ds/$m --output $run
    rm -rf $A/dense/$ds/$m
  done
}

last_step() {  # MODEL_DIR OUT: the run's weights at its last checkpoint
  [ -f $2/pyserini_ckd.json ] && return 0
  $PY - "$1" "$2" <<'EOF'
import sys
from pathlib import Path

import torch

from pyserini_ckd.dense.encoder import DenseEncoder

model_dir, out = Path(sys.argv[1]), Path(sys.argv[2])
last = sorted((model_dir.parent / (model_dir.name + ".checkpoints")).glob("step-*"), key=lambda d: int(d.name.split("-")[1]))[-1]
model = DenseEncoder.load(model_dir)
model.load_state_dict(torch.load(last / "trainer_state.pt", map_location="cpu", weights_only=False)["model"])
model.save(out)
print(f"{out}: the weights of {last.name}")
EOF
}

last_steps() {  # SEED: every pipeline student of that seed at its last step
  local seed=$1 suffix labeler dir
  suffix=$([ $seed = 42 ] && echo "" || echo ".s$seed")
  for labeler in hard collective uniform teacher cross-encoder; do
    dir=$W/models/student-$labeler$suffix
    [ -f $dir/train_config.json ] || continue
    last_step $dir $A/$labeler-last.s$seed
    evaluate_model $labeler-last.s$seed
  done
}
last_steps 42

TRAIN=(--dataset scifact --seed 42 --holdout-fraction 0.1 --holdout-seed 42 --checkpoint-every 100000 --init $W/models/base-sized
       --epochs 1 --batch-size 16 --group-size 2 --learning-rate 2e-5 --warmup-ratio 0.1 --max-length 128 --epsilon 0.1)
train() {  # NAME ARGS...: one student without model selection, unless it is there
  local out=$A/$1; shift
  [ -f $out/train_config.json ] || $PY -m pyserini_ckd.train "${TRAIN[@]}" --output $out "$@"
  evaluate_model $(basename $out)
}
train hard-bm25-negatives.s42 --negatives $W/scifact/bm25-negatives.train.jsonl --loss hard
train collective-t0.25.s42 --labels $W/labels/collective.jsonl --loss kd --temperature 0.25
if [ ! -f $A/collective-expanded.jsonl ]; then
  $PY -m pyserini_ckd.label --dataset scifact --labeler collective --teacher $W/models/teacher-li \
    --negatives $W/scifact/bm25-negatives.train.jsonl --index $W/labels/late-interaction.token-index \
    --negatives-from expanded --bm25-negatives 8 --teacher-negatives 8 --teacher-depth 100 --epsilon 0.1 \
    --holdout-fraction 0.1 --seed 42 --fb-docs 3 --fb-clusters 24 --fb-k 10 --beta 1.0 --output $A/collective-expanded.jsonl
fi
train collective-expanded.s42 --labels $A/collective-expanded.jsonl --loss kd --temperature $T
[ -f $A/collective-interpolated.s42/interpolation.json ] || $PY -m pyserini_ckd.interpolate --start $W/models/base-sized \
  --model $A/collective-last.s42 --output $A/collective-interpolated.s42 --dataset scifact --qrels $W/scifact/qrels-select.tsv \
  --rerank $W/runs/bm25.scifact.train.trec --depth 20 --lambdas 0 0.25 0.5 0.75 1
evaluate_model collective-interpolated.s42
last_steps 43

$PY - "$W" <<'EOF'
import json
import sys
from pathlib import Path

from pyserini_ckd.data.datasets import resolve_dataset
from pyserini_ckd.data.runs import read_run
from pyserini_ckd.evaluation import evaluate_run, paired_t_test

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
        seeds[name] = len(per_seed)
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
EOF
