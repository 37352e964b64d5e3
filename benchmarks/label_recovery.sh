#!/usr/bin/env bash
# Label recovery on one fold of the sparse-label protocol (pyserini_ckd.data.sparse_split): how much of each
# labeler's target mass lands on the relevant passages the sparse training labels hide.
#   bash benchmarks/label_recovery.sh [DATASET=cranfield] [WORKDIR=work/recovery-DATASET] [FOLD=0] [FOLDS=5] [EPOCHS=3]
# Writes WORKDIR/fold-F/recovery.json and prints the audit table (about 10 minutes for cranfield on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYSERINI_CKD_DATA=${PYSERINI_CKD_DATA:-../shared/data} HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY=${PY:-.venv/bin/python}
DATASET=${1:-cranfield}; W=${2:-work/recovery-$DATASET}; FOLD=${3:-0}; FOLDS=${4:-5}; EPOCHS=${5:-3}
F=$W/folds/fold-$FOLD; O=$W/fold-$FOLD
[ -d $F ] || $PY benchmarks/sparse_split.py --dataset $DATASET --output $W/folds --folds $FOLDS
[ -d $W/bm25 ] || $PY -m pyserini_ckd.index --dataset $F --index $W/bm25
mkdir -p $O/labels $O/runs
$PY -m pyserini_ckd.negatives --dataset $F --split train --bm25 $W/bm25 --output $O/negatives.jsonl --depth 100
$PY -m pyserini_ckd.search --dataset $F --split train --bm25 $W/bm25 --output $O/runs/bm25.train.trec --hits 100
[ -f $O/teacher/train_config.json ] || $PY -m pyserini_ckd.train --model late-interaction --dataset $F \
    --negatives $O/negatives.jsonl --init minilm --output $O/teacher --epochs $EPOCHS --batch-size 16 \
    --group-size 4 --learning-rate 1e-4
for L in hard uniform; do
  $PY -m pyserini_ckd.label --dataset $F --labeler $L --negatives $O/negatives.jsonl --output $O/labels/$L.jsonl
done
$PY -m pyserini_ckd.label --dataset $F --labeler teacher --teacher $O/teacher --negatives $O/negatives.jsonl \
    --output $O/labels/teacher.jsonl --run $O/runs/teacher.train.trec --index $O/teacher-index
$PY -m pyserini_ckd.label --dataset $F --labeler collective --teacher $O/teacher --negatives $O/negatives.jsonl \
    --output $O/labels/collective.jsonl --run $O/runs/collective.train.trec --index $O/teacher-index
$PY -m pyserini_ckd.label --dataset $F --labeler collective --teacher $O/teacher --negatives $O/negatives.jsonl \
    --output $O/labels/collective-fb1-b0.5.jsonl --run $O/runs/collective-fb1-b0.5.train.trec --index $O/teacher-index \
    --fb-docs 1 --beta 0.5
$PY -m pyserini_ckd.inspect_labels --stats --hidden $F/qrels/train-hidden.tsv --json $O/recovery.json \
    --labels $O/labels/{hard,uniform,teacher,collective,collective-fb1-b0.5}.jsonl \
    --runs $O/runs/{bm25,bm25,teacher,collective,collective-fb1-b0.5}.train.trec
