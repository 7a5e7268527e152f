#!/usr/bin/env bash
# Builds q-implant with warnings as errors and runs every test; then does the same under
# AddressSanitizer + UndefinedBehaviorSanitizer. Exits non-zero on any failure.
# Then it builds the libFuzzer targets with clang (ASan + UBSan + float-cast-overflow), replays
# every kept regression input and seed through them and fuzzes each target for
# QIMPLANT_FUZZ_SECONDS (default 30; 0: replay only; "skip": no fuzz stage), failing on any
# finding (scripts/fuzz.sh; about 6 minutes on 2 cores). --no-sanitize skips the sanitizer and
# fuzz stages.
# Usage: scripts/test.sh [--no-sanitize]
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

run_suite() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -DQIMPLANT_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs"
}

echo "== build and test (warnings as errors)"
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ "${1:-}" != "--no-sanitize" ]; then
  echo "== build and test under ASan + UBSan"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build-sanitize -DCMAKE_BUILD_TYPE=Debug -DQIMPLANT_SANITIZE=ON -DQIMPLANT_BENCH=OFF
fi
fuzz_seconds=${QIMPLANT_FUZZ_SECONDS:-30}
if [ "${1:-}" != "--no-sanitize" ] && [ "$fuzz_seconds" != skip ]; then
  echo "== fuzz targets (clang, ASan + UBSan + float-cast-overflow): replay, then ${fuzz_seconds} s each"
  scripts/fuzz.sh "$fuzz_seconds"
fi
echo "== all tests passed"
