#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with Debian's clang (ASan + UBSan, float-cast-overflow
# included, which GCC's -fsanitize=undefined leaves out) in build-fuzz/, then:
#  1. replays every input kept in the repository through the fuzz binaries: the regression
#     inputs (tests/fuzz/regressions/, each routed to every target that reads its kind of file,
#     with the option bytes the targets expect) and the seed corpora (fuzz/corpus/<target>/).
#     This is the test pass under clang with float-cast-overflow: an inf or NaN converted to an
#     integer anywhere on these paths aborts it;
#  2. fuzzes each target for SECONDS (default 30; 0 = replay only) from its seed corpus, copied to
#     build-fuzz/corpus/<target>/ so that the committed seeds stay small.
# Fails on any finding: a crash, a sanitizer report, an exception other than qimplant::Error, a
# leak, a timeout or the RSS limit; the input is left in build-fuzz/artifacts/<target>/.
# Prints, per target, the executions, libFuzzer's coverage (cov: edges, ft: features) and the
# corpus size.
# Usage: scripts/fuzz.sh [seconds]   (QIMPLANT_FUZZ_TARGETS="fuzz_npy fuzz_qparam": a subset;
#                                     QIMPLANT_FUZZ_NO_BUILD=1: reuse build-fuzz/ unchanged)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
jobs=$(nproc 2>/dev/null || echo 2)
cxx=${CLANGXX:-clang++-14}
command -v "$cxx" >/dev/null || cxx=clang++
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
sanitizers="address,undefined,float-cast-overflow"
# -O1 with line tables only: about half the build time of -O2 -g, and the same findings.
flags="-O1 -gline-tables-only -fno-omit-frame-pointer -fsanitize=$sanitizers"
flags+=" -fno-sanitize-recover=all -fsanitize=fuzzer-no-link"
read -r -a targets <<<"${QIMPLANT_FUZZ_TARGETS:-fuzz_npy fuzz_model fuzz_qparam fuzz_implant fuzz_exec}"
if [ -z "${QIMPLANT_FUZZ_NO_BUILD:-}" ]; then  # set: reuse build-fuzz/ as it is
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=$sanitizers" "${launcher[@]}" \
  -DQIMPLANT_FUZZ=ON -DQIMPLANT_TESTS=OFF -DQIMPLANT_BENCH=OFF >/dev/null
start=$SECONDS
cmake --build build-fuzz -j "$jobs" --target "${targets[@]}"
echo "== fuzz targets built in $((SECONDS - start)) s"
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
limits=(-rss_limit_mb=2048 -timeout=20 -malloc_limit_mb=2048)

# The replay set of each target, written to build-fuzz/replay/<target>/. Targets that take an
# option byte first (fuzz_qparam: the reader; fuzz_implant: the implant options) get each raw
# regression file once per option byte that reaches it.
replay=build-fuzz/replay
rm -rf "$replay"
prefixed() {  # target, byte (hex), file
  local out="$replay/$1/$(basename "$3").$2"
  printf "\\x$2" >"$out"
  cat "$3" >>"$out"
}
for t in "${targets[@]}"; do
  mkdir -p "$replay/$t"
  cp fuzz/corpus/"$t"/* "$replay/$t/" 2>/dev/null || true
done
reg=tests/fuzz/regressions
models=$(find "$reg" -name '*.circle' -o -name '*.tflite' | sort)
for t in "${targets[@]}"; do
  case $t in
    fuzz_npy) find "$reg" -name '*.npy' -exec cp {} "$replay/$t/" \; ;;
    fuzz_model | fuzz_exec) for f in $models; do cp "$f" "$replay/$t/"; done ;;
    fuzz_qparam)
      for f in $(find "$reg" -name '*.json' | sort); do
        for b in 00 01 02 03; do prefixed "$t" "$b" "$f"; done
      done
      for f in $(find "$reg" -name '*.onnx' | sort); do prefixed "$t" 02 "$f"; done ;;
    fuzz_implant)
      cp "$reg"/implant/*.fuzz "$replay/$t/"
      for f in $models; do
        hi=00
        case $f in *.tflite) hi=80 ;; esac
        for lo in 00 03 04 08 10 13 20; do prefixed "$t" "$(printf %02x $((0x$hi | 0x$lo)))" "$f"; done
      done ;;
  esac
done

status=0
for t in "${targets[@]}"; do
  n=$(find "$replay/$t" -type f | wc -l)
  log=build-fuzz/$t-replay.log
  if build-fuzz/fuzz/"$t" "${limits[@]}" "$replay/$t"/* >"$log" 2>&1; then
    echo "== $t: replayed $n kept input(s): ok"
  else
    echo "FAILED: $t on a kept input ($log):"
    grep -E "Running: |ERROR: |runtime error|SUMMARY" "$log" | tail -5
    status=1
  fi
done
[ "$seconds" = 0 ] && exit $status

for t in "${targets[@]}"; do
  work=build-fuzz/corpus/$t
  mkdir -p "$work" build-fuzz/artifacts/"$t"
  cp -n fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
  log=build-fuzz/$t.log
  if build-fuzz/fuzz/"$t" -max_total_time="$seconds" "${limits[@]}" -max_len=65536 \
    -print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/"$t"/ "$work" >"$log" 2>&1; then
    verdict=ok
  else
    verdict="FAILED (found something: $log, build-fuzz/artifacts/$t/)"
    # The report and the input, so that a CI log alone says what was found.
    sed -n '/ERROR: \|runtime error/,/SUMMARY/p' "$log" | grep -v "in fuzzer::" | head -40
    for a in build-fuzz/artifacts/"$t"/*; do
      [ -f "$a" ] && { echo "input $a (base64):"; head -c 4096 "$a" | base64; }
    done
    status=1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  cov=$(grep -oE "cov: [0-9]+ ft: [0-9]+" "$log" | tail -1)
  echo "== $t: ${seconds} s, ${execs:-?} executions, ${cov:-no coverage line}," \
    "corpus $(find "$work" -type f | wc -l) inputs ($(du -sh --apparent-size "$work" | cut -f1)): $verdict"
done
exit $status
