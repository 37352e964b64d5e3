#!/usr/bin/env bash
# Run the pipeline on a GPU machine from a bundle made by benchmarks/prepare_gpu_bundle.py, and print each
# stage's seconds. Usage (repository root): bash benchmarks/gpu_pipeline.sh CARRY_DIR OUT_DIR [PROFILE [SETTINGS_JSON]]
# SETTINGS_JSON: settings over the profile's, e.g. '{"teacher": {"from_warm_start": true}}'. The device tool's run carries
# .carry and .whl (the wheels prepare_gpu_bundle.py downloads).
set -uo pipefail
carry=$1; out=$2; profile=${3:-full}; settings=${4:-"{}"}
source benchmarks/gpu_env.sh
mkdir -p /tmp/ckd && tar xzf "$carry/bundle.tar.gz" -C /tmp/ckd
python3 -c 'import json, sys; d = json.loads(sys.argv[2]); d["base_model"] = sys.argv[1]; print(json.dumps(d))' \
  "$carry/minilm-fp16" "$settings" > /tmp/ckd/gpu.json || exit 1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -m pyserini_ckd.pipeline --dataset scifact --workdir /tmp/ckd/W --profile "$profile" --device cuda \
  --config /tmp/ckd/gpu.json > "$out/pipeline.log" 2>&1
rc=$?
tail -n 80 "$out/pipeline.log" | grep -v -E "it/s\]|step/s|passage/s|query/s|doc/s" | tail -n 60
cd /tmp/ckd/W && cp results.json report.md results.png "$out/" 2>/dev/null
tar czf "$out/artifacts.tgz" stamps labels/*.meta.json labels/collective.jsonl models/*/train_log.jsonl models/*/train_config.json 2>/dev/null
python3 - <<'PY'
import json, pathlib
for p in sorted(pathlib.Path("/tmp/ckd/W/stamps").glob("*.json")):
    print(f"{p.stem:<45} {json.loads(p.read_text()).get('seconds', 0):>8.1f} s")
PY
exit $rc
