#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with Debian's clang (ASan + UBSan, float-cast-overflow
# included, which GCC's -fsanitize=undefined leaves out) in build-fuzz/, runs each over its
# regression inputs (tests/fuzz/regressions/) and then fuzzes each for SECONDS (default 30) from
# its seed corpus (fuzz/corpus/<target>/, copied so the committed seeds stay small). Fails on any
# finding: a crash, a sanitizer report, an exception other than qimplant::Error, a leak, a
# timeout or the RSS limit.
# Usage: scripts/fuzz.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
jobs=$(nproc 2>/dev/null || echo 2)
cc=${CLANG:-clang-14}
cxx=${CLANGXX:-clang++-14}
command -v "$cxx" >/dev/null || { cc=clang; cxx=clang++; }
flags="-fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all"
flags+=" -fno-omit-frame-pointer -fsanitize=fuzzer-no-link"
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined,float-cast-overflow" \
  -DQIMPLANT_FUZZ=ON -DQIMPLANT_TESTS=OFF -DQIMPLANT_BENCH=OFF >/dev/null
targets=(fuzz_npy fuzz_model fuzz_qparam fuzz_implant fuzz_exec)
cmake --build build-fuzz -j "$jobs" --target "${targets[@]}"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Regression inputs: which target runs which folder (the implant inputs are raw models, so they
# run under fuzz_model and fuzz_exec too; the .fuzz files are fuzz_implant's raw inputs).
declare -A regressions=(
  [fuzz_model]="model implant exec" [fuzz_exec]="exec model" [fuzz_qparam]=""
  [fuzz_implant]="" [fuzz_npy]="")
status=0
for t in "${targets[@]}"; do
  inputs=()
  for d in ${regressions[$t]}; do
    for f in tests/fuzz/regressions/"$d"/*; do
      case "$f" in *.md | *.json | *.npy) ;; *) inputs+=("$f") ;; esac
    done
  done
  [ "$t" = fuzz_implant ] && inputs+=(tests/fuzz/regressions/implant/*.fuzz)
  if [ ${#inputs[@]} -gt 0 ]; then
    echo "== $t: ${#inputs[@]} regression input(s)"
    build-fuzz/fuzz/"$t" -rss_limit_mb=2048 -timeout=20 "${inputs[@]}" >build-fuzz/"$t"-regressions.log 2>&1 ||
      { echo "FAILED: $t on the regression inputs (build-fuzz/$t-regressions.log)"; status=1; }
  fi
  work=build-fuzz/corpus/$t
  mkdir -p "$work" build-fuzz/artifacts/"$t"
  cp -n fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  echo "== $t: fuzzing for ${seconds}s"
  if ! build-fuzz/fuzz/"$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/"$t"/ \
    "$work" >build-fuzz/"$t".log 2>&1; then
    echo "FAILED: $t found something (build-fuzz/$t.log, build-fuzz/artifacts/$t/)"
    status=1
  fi
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|cov: .* ft: " build-fuzz/"$t".log |
    tail -3 || true
  echo "   corpus: $(ls "$work" | wc -l) inputs, $(du -sh "$work" | cut -f1)"
done
exit $status
