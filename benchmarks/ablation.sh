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

$PY benchmarks/ablation_table.py "$W"
