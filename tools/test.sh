#!/usr/bin/env bash
# Runs every test: installs what is missing (apt, as root), builds, runs the whole suite,
# then builds again with AddressSanitizer + UndefinedBehaviorSanitizer and runs it again.
#   tools/test.sh            everything (what CI runs)
#   tools/test.sh --quick    skip the sanitizer pass
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$LUMBUNG_ROOT"

# chromium, chromium-driver, python3-selenium: the office page's browser test (tests/web/).
ensure_packages clang libclang-rt-14-dev python3 chromium chromium-driver python3-selenium
# doctest reads ',' and ';' in a --test-case filter as separators, so a test whose name has
# one is registered in CTest but runs nothing: refuse such names.
if grep -rnE 'TEST_CASE\("[^"]*[,;]' tests; then
  echo "test names above contain ',' or ';' (CTest would run nothing for them)" >&2
  exit 1
fi
# Release (-O3, no debug info): RelWithDebInfo's objects were 15-25x larger (a CI clone's
# build directories reached 13 GB, and links read all of it) and its compiles 10-20% slower
# (two files timed, 2026-12-05); the sanitizer pass below keeps debug info for its traces.
# Unity builds (CMAKE_UNITY_BUILD: 8 sources of a library compiled as one file): the
# server core's 53 files took 2.4x less CPU so (3 min 34 s against 1 min 20 s, 2026-12-06),
# since each file instantiates the same nlohmann::json templates. Developers' own builds
# stay per file. A helper defined in two files' anonymous namespaces breaks this build:
# share it instead (it found four such copies).
unity=-DCMAKE_UNITY_BUILD=ON
say "build (Release)"
build build/main -DCMAKE_BUILD_TYPE=Release -DLUMBUNG_BUILD_TESTS=ON "$unity"
say "tests"
ctest --test-dir build/main --output-on-failure --timeout 600 -j2

if [ "${1:-}" != "--quick" ]; then
  say "build with AddressSanitizer + UndefinedBehaviorSanitizer"
  # -Og with line tables only (-g1): the sanitizers' docs advise optimising, and at -O0 every
  # nlohmann::json call stays a call (the simulation ran 2.2x slower); line tables are all
  # a report's stack needs. A unity chunk of the server compiled in 11.9 s against 12.9 s
  # for -O0 -g (-O1 -g: 28.2 s), 2026-12-06.
  build build/asan -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-Og -g1" \
    "-DCMAKE_C_FLAGS_DEBUG=-Og -g1" -DLUMBUNG_SANITIZE=ON -DLUMBUNG_BUILD_TESTS=ON \
    -DLUMBUNG_BUILD_TOOLS=ON -DLUMBUNG_BUILD_BENCH=OFF "$unity"
  say "tests under sanitizers"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build/asan --output-on-failure --timeout 900 -j2
fi
# libFuzzer targets (tests/fuzz), each for LUMBUNG_FUZZ_SECONDS on a scratch copy of its corpus.
say "fuzz (clang, -fsanitize=fuzzer,address,undefined)"
CC=clang CXX=clang++ cmake -S "$LUMBUNG_ROOT" -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLUMBUNG_FUZZ=ON -DLUMBUNG_BUILD_TESTS=ON -DLUMBUNG_BUILD_TOOLS=ON "$unity" >/dev/null
cmake --build build/fuzz -j"$(nproc)" --target lumbung_fuzz  # the targets only, not every test
fuzz_seconds=${LUMBUNG_FUZZ_SECONDS:-30}
# fuzz_one T: fuzz_T on a scratch copy of its corpus, its output in build/fuzz/fuzz_T.log.
fuzz_one() {
  local t=$1 bin=build/fuzz/tests/fuzz/fuzz_$1 work rc=0
  work=$(mktemp -d)
  cp -r "tests/fuzz/corpus/$t/." "$work/"
  ASAN_OPTIONS=detect_leaks=0 "$bin" -max_total_time="$fuzz_seconds" -max_len=65536 -timeout=10 \
    -artifact_prefix="build/fuzz/crash-$t-" "$work" >"build/fuzz/fuzz_$t.log" 2>&1 || rc=$?
  rm -rf "$work"
  return "$rc"
}
# One target per core at a time (libFuzzer runs on one thread): each still gets
# fuzz_seconds of a core to itself, and on 2 cores the stage takes half the time.
fuzz_targets=()
for t in changeset changeset_v2 cursor schema router csv; do
  if [ -x "build/fuzz/tests/fuzz/fuzz_$t" ]; then fuzz_targets+=("$t"); else echo "fuzz_$t not built" >&2; fi
done
fuzz_jobs=$(nproc)
for ((i = 0; i < ${#fuzz_targets[@]}; i += fuzz_jobs)); do
  batch=("${fuzz_targets[@]:i:fuzz_jobs}")
  say "fuzz: ${batch[*]} for ${fuzz_seconds}s, side by side"
  pids=()
  for t in "${batch[@]}"; do
    fuzz_one "$t" &
    pids+=($!)
  done
  fuzz_failed=0
  for k in "${!batch[@]}"; do
    if wait "${pids[$k]}"; then
      tail -n 3 "build/fuzz/fuzz_${batch[$k]}.log"
    else
      echo "fuzz_${batch[$k]} failed:" >&2
      tail -n 60 "build/fuzz/fuzz_${batch[$k]}.log" >&2
      fuzz_failed=1
    fi
  done
  [ "$fuzz_failed" -eq 0 ] || exit 1
done
say "all tests passed"
