#!/usr/bin/env bash
# Zero-shot MiniLM with passages in fp32 and in --precision auto (bf16 on a CPU with native bf16), cranfield and
# SciFact test: bash benchmarks/precision.sh (about 8 minutes on 2 cores).
set -e
cd "$(dirname "$0")/.."; export PYSERINI_CKD_DATA=${PYSERINI_CKD_DATA:-../shared/data} HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false; PY=.venv/bin/python; P=work/precision
for ds in cranfield scifact; do
for prec in fp32 auto; do
  flag=""; [ $prec = fp32 ] && flag="--fp32"
  $PY -m pyserini_ckd.encode input --corpus $ds output --embeddings $P/$ds-$prec encoder --encoder minilm $flag 2>&1 | grep "passages are encoded" | sed 's/.*INFO //'
  $PY -m pyserini_ckd.search --dataset $ds --split test --dense $P/$ds-$prec --output $P/runs/zeroshot-$prec.$ds.test.trec 2>/dev/null
done
$PY -m pyserini_ckd.evaluate --qrels $ds:test $P/runs/zeroshot-fp32.$ds.test.trec $P/runs/zeroshot-auto.$ds.test.trec 2>/dev/null
done
