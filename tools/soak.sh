#!/usr/bin/env bash
# Soak the deterministic fault simulation: COUNT seeds from START, split over JOBS processes;
# a fourth argument `restores` also restores the server from a backup mid-run (--restores).
#   tools/soak.sh [COUNT=100000] [START=1001] [JOBS=nproc] [restores]
# Each process prints "soak: N seeds, F failed, X seeds/s" every 30 s and a summary at the end;
# a failing seed prints itself with the command that re-runs it alone.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$LUMBUNG_ROOT"
count=${1:-100000}; start=${2:-1001}; jobs=${3:-$(nproc)}
extra=(); [[ ${4:-} == restores ]] && extra=(--restores)
build build/main -DCMAKE_BUILD_TYPE=Release -DLUMBUNG_BUILD_TESTS=ON >/dev/null  # as tools/test.sh
per=$(( (count + jobs - 1) / jobs ))
export TMPDIR=${TMPDIR:-/dev/shm}
pids=()
for j in $(seq 0 $((jobs - 1))); do
  build/main/tests/lumbung-sim --soak "$per" --start $((start + j * per)) "${extra[@]}" > "build/main/soak-$j.log" 2>&1 &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
cat build/main/soak-*.log | grep -E "^(FAIL|re-run|seeds)" || true
exit $status
