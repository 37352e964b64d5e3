#!/usr/bin/env bash
# Pyserini's own search.faiss, search.hybrid and encode, run through pyserini_run on the collective student of a
# pipeline workdir (default: make demo's), against the pipeline's own runs; prints one table and the seconds.
#   bash benchmarks/pyserini_clis.sh [WORKDIR] [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
export PYSERINI_CKD_DATA=${PYSERINI_CKD_DATA:-../shared/data} HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY=${PY:-.venv/bin/python}; W=${1:-work/scifact-quick}; C=${2:-work/pyserini-check}
mkdir -p $C; T=$C/topics.scifact-test.tsv
$PY -m pyserini_ckd.topics --dataset scifact --split test --output $T
/usr/bin/time -f "faiss %e s" $PY -m pyserini_ckd.pyserini_run pyserini.search.faiss --index $W/dense/scifact/student-collective \
   --topics $T --output $C/faiss.trec --hits 1000 --device cpu > $C/faiss.log 2>&1 || { tail $C/faiss.log; exit 1; }
/usr/bin/time -f "hybrid %e s" $PY -m pyserini_ckd.pyserini_run pyserini.search.hybrid dense --index $W/dense/scifact/student-collective \
   --device cpu sparse --index $W/scifact/bm25-index fusion --alpha 1.0 --normalization \
   run --topics $T --output $C/hybrid.trec --hits 1000 > $C/hybrid.log 2>&1 || { tail $C/hybrid.log; exit 1; }
/usr/bin/time -f "encode %e s" $PY -m pyserini_ckd.pyserini_run pyserini.encode input --corpus $PYSERINI_CKD_DATA/scifact/corpus.jsonl --fields title text \
   output --embeddings $C/encoded --to-faiss encoder --encoder $W/models/student-collective --fields title text --device cpu > $C/encode.log 2>&1 || { tail $C/encode.log; exit 1; }
$PY -m pyserini_ckd.search --dataset scifact --split test --dense $C/encoded --encoder $W/models/student-collective --output $C/encoded.trec 2>/dev/null
$PY -m pyserini_ckd.evaluate --qrels scifact:test $W/runs/student-collective.scifact.test.trec $C/faiss.trec $C/encoded.trec \
   $W/runs/hybrid-collective.scifact.test.trec $C/hybrid.trec 2>/dev/null
grep -h " s$" $C/*.log || true
echo "lines with ModuleNotFoundError in their output: $(cat $C/*.log | grep -c ModuleNotFoundError || true)"
