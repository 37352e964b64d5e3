#!/usr/bin/env bash
# The gentle hard-label student (one epoch, groups of 2, lr 2e-5) and its weight-space interpolation with MiniLM,
# lambda chosen on SciFact's unseen dev queries (never test), against zero-shot MiniLM on SciFact test, the unseen
# 104 and the transfer collections.
#   bash benchmarks/interpolation.sh [WORKDIR=work/interpolation] [SEED=42]       (about 30 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
export PYSERINI_CKD_DATA=${PYSERINI_CKD_DATA:-../shared/data} HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY=${PY:-.venv/bin/python}; W=${1:-work/interpolation}; SEED=${2:-42}
mkdir -p $W/runs
[ -d $W/bm25 ] || $PY -m pyserini_ckd.index --dataset scifact --index $W/bm25
[ -f $W/negatives.jsonl ] || $PY -m pyserini_ckd.negatives --dataset scifact --split train --bm25 $W/bm25 \
    --output $W/negatives.jsonl --depth 100
S=$W/gentle.s$SEED
[ -f $S/train_config.json ] || $PY -m pyserini_ckd.train --dataset scifact --negatives $W/negatives.jsonl --init minilm \
    --output $S --epochs 1 --group-size 2 --batch-size 16 --learning-rate 2e-5 --seed $SEED \
    --holdout-fraction 0.1 --holdout-seed 42 --holdout-qrels $W/qrels-dev.tsv
[ -f $S-wise/interpolation.json ] || $PY -m pyserini_ckd.interpolate --start minilm --model $S --output $S-wise \
    --dataset scifact --qrels $W/qrels-dev.tsv --unseen-from scifact:train --lambdas 0 0.25 0.5 0.75 1
for ds in scifact cranfield cacm npl; do
  for m in zeroshot gentle.s$SEED gentle.s$SEED-wise; do
    model=$W/$m; [ $m = zeroshot ] && model=minilm
    [ -f $W/runs/$m.$ds.test.trec ] && continue
    $PY -m pyserini_ckd.encode input --corpus $ds output --embeddings $W/dense/$ds/$m encoder --encoder $model 2>/dev/null
    $PY -m pyserini_ckd.search --dataset $ds --split test --dense $W/dense/$ds/$m --output $W/runs/$m.$ds.test.trec 2>/dev/null
  done
done
for view in scifact:test scifact:test-unseen cranfield:test cacm:test npl:test; do
  ds=${view%%:*}; echo "== $view"
  $PY -m pyserini_ckd.evaluate --qrels $view $W/runs/{zeroshot,gentle.s$SEED,gentle.s$SEED-wise}.$ds.test.trec --measures nDCG@10 2>/dev/null
done
cat $S-wise/interpolation.json
