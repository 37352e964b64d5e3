#!/bin/bash
# A kept label_scale.py index searched again under a memory cap, cold, with and without MADV_RANDOM.
#
#   bash benchmarks/label_scale_cap.sh W/scale/1m 1000000 [CAP_GIB=4] [label_scale.py settings ...]
#
# Needs root and cgroup v1's memory controller (/sys/fs/cgroup/memory). Makes the cgroup ckd-cap with
# memory.limit_in_bytes = CAP GiB (the page cache is charged to it), evicts the index's files from the page cache
# (posix_fadvise DONTNEED), and runs `label_scale.py --reuse` inside it twice: with this checkout (token vectors
# mapped MADV_RANDOM) and with a worktree of HEAD whose madvise call is removed (the kernel's default readahead).
# Each run is cold and bounded at 15 minutes; prints wall time, storage read (/usr/bin/time -v's "File system
# inputs", 512-byte blocks), peak RSS and the cgroup's peak, and writes W/cap-madv-random.json, W/cap-default-readahead.json.
set -euo pipefail
W=${1:?workdir of a --keep run}; N=${2:?passages}; CAP=${3:-4}; shift $(( $# < 3 ? $# : 3 ))
SETTINGS=("$@"); [ ${#SETTINGS[@]} -eq 0 ] && SETTINGS=(--exact-queries 6 --queries 8 --query-seed 1)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
IDX=$W/tokens-$N
CG=/sys/fs/cgroup/memory/ckd-cap
[ -d "$IDX" ] || { echo "$IDX: no kept index (run label_scale.py with --keep)" >&2; exit 2; }
mkdir -p $CG && echo $((CAP * 1024 * 1024 * 1024)) > $CG/memory.limit_in_bytes
OLD=$(mktemp -d)/readahead
git -C "$ROOT" worktree add -f "$OLD" HEAD >/dev/null 2>&1
trap 'git -C "$ROOT" worktree remove --force "$OLD"; git -C "$ROOT" worktree prune' EXIT
sed -i 's/^\(\s*\)mapped.madvise(mmap.MADV_RANDOM)/\1pass  # default readahead/' "$OLD/pyserini_ckd/teacher/token_index.py"
grep -q "default readahead" "$OLD/pyserini_ckd/teacher/token_index.py" || { echo "madvise call not found" >&2; exit 2; }
for variant in madv-random default-readahead; do
  script=$ROOT/benchmarks/label_scale.py; [ $variant = default-readahead ] && script=$OLD/benchmarks/label_scale.py
  PYTHONPATH="$ROOT/benchmarks:$ROOT" python -c 'import pathlib, sys, label_scale; label_scale.evict(pathlib.Path(sys.argv[1]))' "$IDX"
  echo 0 > $CG/memory.max_usage_in_bytes || true
  echo "== $variant"
  bash -c "echo \$\$ > $CG/cgroup.procs; exec timeout 900 /usr/bin/time -v python $script --passages $N --workdir $W --reuse \
      ${SETTINGS[*]} --output $W/cap-$variant.json" > $W/cap-$variant.log 2>&1 || echo "exit $? (see $W/cap-$variant.log)"
  grep -E "Elapsed|File system inputs|Maximum resident" $W/cap-$variant.log || true
  echo "cgroup peak bytes: $(cat $CG/memory.max_usage_in_bytes)"
  python -c "import json,sys; r=json.load(open(sys.argv[1])); print([{k: a[k] for k in ('ncells','ndocs','nexact','ms_per_query','recall@100','storage_read_gb_per_query')} for a in r['approx']])" $W/cap-$variant.json || true
done
