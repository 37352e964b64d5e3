#!/usr/bin/env bash
# Which change of the compare-cpu design moved what: one pool, plain-ranking negatives, the dev temperature,
# model selection and interpolation, one at a time, for one seed, on the five views (SciFact all and unseen,
# cranfield, cacm, npl). Run after the pipeline, on its workdir (it reuses the pool, labels, teacher and models):
#   python -m pyserini_ckd.pipeline --profile compare-cpu --workdir W
#   bash benchmarks/ablation.sh W [SEED=42]            (about 40 minutes on 2 cores; writes W/ablation/ablation.{json,md})
# Rows, each against the pipeline's own student of that seed (same init, steps, batch, lr and selection):
#   hard, BM25 top-100 negatives      the old hard student's pool (the confound of the old comparison)
#   collective, T = 0.25              the paper's temperature instead of the dev choice
#   hard / collective, last step      no model selection (the weights at the last step, from its checkpoint)
#   collective, expanded negatives    no shared pool: teacher negatives from the PRF-expanded ranking
#   collective, interpolated          theta = (1 - lambda) theta_0 + lambda theta, lambda on the unseen dev slice
set -euo pipefail
cd "$(dirname "$0")/.."
export PYSERINI_CKD_DATA=${PYSERINI_CKD_DATA:-../shared/data} HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY=${PY:-.venv/bin/python}; W=${1:?workdir of a compare-cpu pipeline run}; SEED=${2:-42}
A=$W/ablation; mkdir -p $A/runs
SUFFIX=$([ "$SEED" = 42 ] && echo "" || echo ".s$SEED")
COLL=$W/models/student-collective$SUFFIX
T=$($PY -c "import json; print(json.load(open('$W/labels/collective.temperature.json'))['temperature'])")
TRAIN=(--dataset scifact --seed $SEED --holdout-fraction 0.1 --holdout-seed 42 --checkpoint-every 100000 --init $W/models/base-sized
       --epochs 1 --batch-size 16 --group-size 2 --learning-rate 2e-5 --warmup-ratio 0.1 --max-length 128 --epsilon 0.1
       --select-every 15 --select-qrels $W/scifact/qrels-dev-unseen.tsv --select-run $W/runs/bm25.scifact.train.trec --select-depth 20)

train() {  # NAME ARGS...: one student, unless it is there
  local out=$A/$1; shift
  [ -f $out/train_config.json ] || $PY -m pyserini_ckd.train "${TRAIN[@]}" --output $out "$@"
}
train hard-bm25-negatives.s$SEED --negatives $W/scifact/bm25-negatives.train.jsonl --loss hard
train collective-t0.25.s$SEED --labels $W/labels/collective.jsonl --loss kd --temperature 0.25
if [ ! -f $A/collective-expanded.jsonl ]; then
  $PY -m pyserini_ckd.label --dataset scifact --labeler collective --teacher $W/models/teacher-li \
    --negatives $W/scifact/bm25-negatives.train.jsonl --index $W/labels/late-interaction.token-index \
    --negatives-from expanded --bm25-negatives 8 --teacher-negatives 8 --teacher-depth 100 --epsilon 0.1 \
    --holdout-fraction 0.1 --seed 42 --fb-docs 3 --fb-clusters 24 --fb-k 10 --beta 1.0 --output $A/collective-expanded.jsonl
fi
train collective-expanded.s$SEED --labels $A/collective-expanded.jsonl --loss kd --temperature $T
for sys_ in hard collective; do  # the same runs' weights at their last step (no model selection)
  [ -f $A/$sys_-last.s$SEED/pyserini_ckd.json ] && continue
  $PY - "$W/models/student-$sys_$SUFFIX" "$A/$sys_-last.s$SEED" <<'EOF'
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
done
[ -f $A/collective-interpolated.s$SEED/interpolation.json ] || $PY -m pyserini_ckd.interpolate --start $W/models/base-sized \
  --model $COLL --output $A/collective-interpolated.s$SEED --dataset scifact --qrels $W/scifact/qrels-dev-unseen.tsv \
  --rerank $W/runs/bm25.scifact.train.trec --depth 20 --lambdas 0 0.25 0.5 0.75 1

MODELS=(hard-bm25-negatives hard-last collective-t0.25 collective-expanded collective-last collective-interpolated)
for ds in scifact cranfield cacm npl; do
  for m in "${MODELS[@]}"; do
    run=$A/runs/$m.s$SEED.$ds.test.trec
    [ -f $run ] && continue
    $PY -m pyserini_ckd.encode input --corpus $ds output --embeddings $A/dense/$ds/$m.s$SEED \
      encoder --encoder $A/$m.s$SEED --batch-size 32 --max-length 256
    $PY -m pyserini_ckd.search --dataset $ds --split test --dense $A/dense/$ds/$m.s$SEED --output $run
    rm -rf $A/dense/$ds/$m.s$SEED
  done
done
$PY - "$W" "$SEED" <<'EOF'
import json
import sys
from pathlib import Path

from pyserini_ckd.data.datasets import resolve_dataset
from pyserini_ckd.data.runs import read_run
from pyserini_ckd.evaluation import evaluate_run, paired_t_test

w, seed = Path(sys.argv[1]), sys.argv[2]
suffix = "" if seed == "42" else f".s{seed}"
rows = [("zero-shot MiniLM", w / "runs" / "zeroshot.{ds}.test.trec"),
        ("hard, pool (pipeline)", w / "runs" / f"student-hard{suffix}.{{ds}}.test.trec"),
        ("hard, last step (no selection)", w / "ablation" / "runs" / f"hard-last.s{seed}.{{ds}}.test.trec"),
        ("hard, BM25 top-100 negatives", w / "ablation" / "runs" / f"hard-bm25-negatives.s{seed}.{{ds}}.test.trec"),
        ("collective (pipeline: pool, plain negatives, dev T, selection)", w / "runs" / f"student-collective{suffix}.{{ds}}.test.trec"),
        ("collective, T = 0.25", w / "ablation" / "runs" / f"collective-t0.25.s{seed}.{{ds}}.test.trec"),
        ("collective, last step (no selection)", w / "ablation" / "runs" / f"collective-last.s{seed}.{{ds}}.test.trec"),
        ("collective, expanded-ranking negatives (own pool)", w / "ablation" / "runs" / f"collective-expanded.s{seed}.{{ds}}.test.trec"),
        ("collective, interpolated with the start", w / "ablation" / "runs" / f"collective-interpolated.s{seed}.{{ds}}.test.trec")]
views = [("scifact", "test"), ("scifact", "test-unseen"), ("cranfield", "test"), ("cacm", "test"), ("npl", "test")]
table, per_query = {}, {}
for name, pattern in rows:
    for ds, view in views:
        path = Path(str(pattern).format(ds=ds))
        if not path.is_file():
            continue
        e = evaluate_run(read_run(path), resolve_dataset(ds).qrels(view, check_docs=False), ["nDCG@10"], name)
        table.setdefault(name, {})[f"{ds}/{view}"] = round(e.aggregates["nDCG@10"], 4)
        if (ds, view) != ("scifact", "test"):  # the new questions, pooled
            per_query.setdefault(name, {}).update({f"{ds}:{q}": v for q, v in e.per_query["nDCG@10"].items()})
ref = "collective (pipeline: pool, plain negatives, dev T, selection)"
for name, values in per_query.items():
    table[name]["new questions pooled"] = round(sum(values.values()) / len(values), 4)
    if name != ref and ref in per_query and len(values) == len(per_query[ref]):
        table[name]["p vs pipeline collective (pooled)"] = round(paired_t_test(per_query[ref], values), 4)
interp = json.loads((w / "ablation" / f"collective-interpolated.s{seed}" / "interpolation.json").read_text())
out = {"seed": int(seed), "temperature_dev": json.loads((w / "labels" / "collective.temperature.json").read_text())["temperature"],
       "interpolation_lambda": interp["lambda"], "rows": table}
(w / "ablation" / "ablation.json").write_text(json.dumps(out, indent=1))
cols = [f"{d}/{v}" for d, v in views] + ["new questions pooled", "p vs pipeline collective (pooled)"]
lines = ["| row | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
lines += [f"| {name} | " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for name, r in table.items()]
(w / "ablation" / "ablation.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
print(f"dev temperature {out['temperature_dev']}, interpolation lambda {out['interpolation_lambda']}")
EOF
