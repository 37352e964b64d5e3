#!/usr/bin/env bash
# The label path on a GPU in one call (issue 15): the device tests (tests/test_gpu.py: index build, bf16 scans,
# PRF's nearest tokens, the encoder, training and a whole label job against the CPU), then
# benchmarks/teacher_cost.py with the joint configuration on the device (the collective teacher's cost against
# the cross-encoder's, and each labeler's held-out nDCG@10), then benchmarks/gpu_scan.py (the exact search held on
# the device at 30k to 1 M synthetic passages, projected to MS MARCO). About 5 minutes on an H200.
#
# Here, once (BM25 runs here: the GPU image has no Java, Pyserini or Faiss; the wheels are what it lacks):
#   .venv/bin/python benchmarks/prepare_gpu_bundle.py --workdir work/gpu-cost --out .carry --profile quick \
#       --config benchmarks/configs/teacher_cost_joint_cpu.json
# There (the device tool: carry .carry and .whl):
#   bash benchmarks/gpu_labels.sh .carry $OUT
# Arguments: CARRY_DIR OUT_DIR [SETTINGS_JSON over the joint configuration's]. DEVICE=cpu (default cuda)
# rehearses the same script on a CPU, in an environment like the GPU image's (docs/gpu.md); WHEELS replaces .whl
# (benchmarks/gpu_env.sh); SCAN_PASSAGES replaces gpu_scan.py's sizes.
set -uo pipefail
carry=$1; out=$2; settings=${3:-"{}"}; device=${DEVICE:-cuda}
source benchmarks/gpu_env.sh
export CKD_TEST_DEVICE=$device
[ "$device" = cpu ] || nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)'

python3 -m pytest -q -p no:cacheprovider -m gpu tests/test_gpu.py > "$out/gpu_tests.log" 2>&1
tests=$?
tail -n 25 "$out/gpu_tests.log"

rm -rf /tmp/ckd && mkdir -p /tmp/ckd && tar xzf "$carry/bundle.tar.gz" -C /tmp/ckd || exit 1
python3 - "$carry/minilm-fp16" "$settings" > /tmp/ckd/gpu.json <<'PY' || exit 1
import json, sys
from pyserini_ckd.pipeline.config import deep_merge
config = json.load(open("benchmarks/configs/teacher_cost_joint_cpu.json"))
config["base_model"] = sys.argv[1]
print(json.dumps(deep_merge(config, json.loads(sys.argv[2]))))
PY
python3 benchmarks/teacher_cost.py --workdir /tmp/ckd/W --profile quick --config /tmp/ckd/gpu.json --device "$device" \
  > "$out/teacher_cost.log" 2>&1
cost=$?
grep -v -E "it/s\]|s/it\]|step/s|passage/s|query/s|doc/s" "$out/teacher_cost.log" | tail -n 40
cp /tmp/ckd/W/teacher_cost.json "$out/" 2>/dev/null
(cd /tmp/ckd/W && tar czf "$out/label_meta.tgz" stamps labels/*.meta.json models/*/train_config.json 2>/dev/null)

timeout 240 python3 benchmarks/gpu_scan.py --device "$device" --passages ${SCAN_PASSAGES:-30000 100000 300000 1000000} \
  --output "$out/gpu_scan.json" > "$out/gpu_scan.log" 2>&1
scan=$?
tail -n 30 "$out/gpu_scan.log"
echo "device tests: rc $tests; teacher cost: rc $cost; scan: rc $scan"
exit $(( tests || cost || scan ))
