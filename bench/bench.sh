#!/usr/bin/env bash
# q-implant benchmark: implant per-channel int8 parameters into every weight of a >= 1 GiB float32
# model, once with `value` npy files and once quantizing from float, and compare wall time and
# peak RSS with `cp` of the same file, all in one run on the same files.
#
#   bench/bench.sh [--size-mb N] [--format circle|tflite] [--runs N] [--keep]
#
# Builds Release in build-bench/, generates the model (bench/make_bench_model.cpp) in a scratch
# directory under $BENCH_DIR (default /tmp), removed at the end unless --keep. Needs GNU time
# (/usr/bin/time, Debian package `time`) and about 3.5x the model size of free disk.
#
# Page cache: nothing is dropped (that needs root). The model and npy files are read once before
# the first measurement, so every measured command reads its inputs from a warm cache; `sync`
# runs (untimed) before each measurement so no command pays for an earlier one's writeback.
# Commands are interleaved round by round, so load changes hit all of them alike.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size_mb=1024
format=circle
runs=3
keep=0

usage() { sed -n '2,16s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
die() {
  echo "bench: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --size-mb) size_mb=${2:?--size-mb needs a value}; shift 2 ;;
    --size-mb=*) size_mb=${1#*=}; shift ;;
    --format) format=${2:?--format needs a value}; shift 2 ;;
    --format=*) format=${1#*=}; shift ;;
    --runs) runs=${2:?--runs needs a value}; shift 2 ;;
    --runs=*) runs=${1#*=}; shift ;;
    --keep) keep=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
if ! [[ $size_mb =~ ^[0-9]+$ ]] || [ "$size_mb" -lt 1 ] || [ "$size_mb" -gt 1900 ]; then
  die "--size-mb must be 1..1900 (the inline FlatBuffer must stay under 2 GiB)"
fi
if ! [[ $runs =~ ^[0-9]+$ ]] || [ "$runs" -lt 1 ]; then die "--runs must be a positive integer"; fi
case "$format" in circle | tflite) ;; *) die "--format must be circle or tflite" ;; esac

timer=/usr/bin/time
[ -x "$timer" ] || die "GNU time ($timer) is missing: run scripts/install-deps.sh (package 'time')"

# --- build ---------------------------------------------------------------------------------------
build="$root/build-bench"
echo "bench: building (Release) in $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DQIMPLANT_TESTS=OFF -DQIMPLANT_BENCH=ON \
  >"$build.log" 2>&1 || { cat "$build.log" >&2; die "cmake configure failed"; }
cmake --build "$build" -j"$(nproc)" --target q-implant qimplant-make-bench-model >>"$build.log" 2>&1 ||
  { tail -n 40 "$build.log" >&2; die "build failed (full log: $build.log)"; }
rm -f "$build.log"
qimplant="$build/src/q-implant"
generator="$build/bench/qimplant-make-bench-model"
[ -x "$generator" ] ||
  die "$generator was not built: bench/ is only configured when Google Benchmark is found (libbenchmark-dev, scripts/install-deps.sh)"

# --- scratch directory ---------------------------------------------------------------------------
base=${BENCH_DIR:-/tmp}
mkdir -p "$base"
need_mb=$((size_mb * 7 / 2 + 64))
avail_mb=$(df -Pm "$base" | awk 'NR == 2 { print $4 }')
[ "$avail_mb" -ge "$need_mb" ] ||
  die "$base has ${avail_mb} MiB free, the benchmark needs about ${need_mb} MiB (set BENCH_DIR)"
work=$(mktemp -d "$base/qimplant-bench.XXXXXX")
cleanup() {
  if [ "$keep" -eq 1 ]; then
    echo "bench: kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

data="$work/data"
model="$data/model.$format"
echo "bench: generating a ${size_mb} MiB $format model in $data"
"$timer" -f '%e %M' -o "$work/gen.time" "$generator" "$data" --size-mb "$size_mb" --format "$format"
read -r gen_wall gen_rss <"$work/gen.time"
echo "bench: generator took ${gen_wall} s, peak RSS $((gen_rss / 1024)) MiB"
sync

# --- warm-up: every input read once, so all measured commands start from a warm page cache -------
echo "bench: warm-up (cp of the model, read of the npy files; not measured)"
cp "$model" "$work/warmup"
cat "$data"/npy/*.npy >/dev/null
rm -f "$work/warmup"
sync

# --- measurements --------------------------------------------------------------------------------
labels=(
  "cp model out"
  "cp model out + fsync (reference)"
  "q-implant, value npy"
  "q-implant, from float"
)
outputs=("$work/out_cp" "$work/out_cp" "$work/out_value.$format" "$work/out_float.$format")

# shellcheck disable=SC2016  # $1 and $2 are expanded by the inner bash
cp_fsync='cp "$1" "$2" && sync "$2"'  # sync FILE: fsync of that file, as q-implant does for its output
command_for() {  # index -> cmd
  case "$1" in
    0) cmd=(cp "$model" "${outputs[0]}") ;;
    1) cmd=(bash -c "$cp_fsync" _ "$model" "${outputs[1]}") ;;
    2) cmd=("$qimplant" -q "$model" "$data/qparam_value.json" "${outputs[2]}") ;;
    3) cmd=("$qimplant" -q "$model" "$data/qparam_float.json" "${outputs[3]}") ;;
  esac
}

declare -A walls rsss cpus sizes
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= runs; r++)); do
  for i in "${!labels[@]}"; do
    rm -f "${outputs[$i]}"
    sync
    command_for "$i"
    # %e %M: wall seconds, peak RSS KiB; %U %S: CPU seconds, steadier than wall on a busy machine.
    "$timer" -f '%e %M %U %S' -o "$work/run.time" "${cmd[@]}" || die "'${labels[$i]}' failed"
    read -r wall rss user sys <"$work/run.time"
    walls[$i]+="$wall "
    rsss[$i]+="$rss "
    cpus[$i]+="$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') "
    sizes[$i]=$(stat -c %s "${outputs[$i]}")
    printf 'bench: run %d/%d  %-34s %6.2f s wall  %6.2f s user  %6.2f s sys  %6d MiB\n' "$r" \
      "$runs" "${labels[$i]}" "$wall" "$user" "$sys" $((rss / 1024))
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

identical="no (outputs differ!)"
cmp -s "${outputs[2]}" "${outputs[3]}" && identical="yes"

# --- report --------------------------------------------------------------------------------------
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END {
  if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maximum() { tr ' ' '\n' | grep . | sort -g | tail -n 1; }

cp_wall=$(median <<<"${walls[0]}")
input_size=$(stat -c %s "$model")
fs=$(df -PT "$work" | awk 'NR == 2 { print $2 }')
echo
echo "q-implant benchmark: $(basename "$model"), $input_size bytes ($((input_size >> 20)) MiB), $format,"
layers=$(grep -c '_weight_scale.npy' "$data/qparam_float.json")
echo "  $layers FULLY_CONNECTED layers: per-channel int8 weights, per-channel int32 biases, int8 activations"
echo "  $runs runs per command, interleaved; wall and CPU (user + sys): median; peak RSS (GNU time %M): max"
echo "  warm page cache for every command (inputs read once before; sync before each run, untimed)"
echo "  $(nproc) CPUs, $fs on $base, load average before $load_before, after $load_after"
echo
printf '%-34s %7s %13s %8s %11s %11s %7s  %s\n' "command" "wall s" "peak RSS MiB" "wall/cp" \
  "RSS/output" "output MiB" "CPU s" "wall of each run (s)"
for i in "${!labels[@]}"; do
  wall=$(median <<<"${walls[$i]}")
  rss=$(maximum <<<"${rsss[$i]}")
  cpu=$(median <<<"${cpus[$i]}")
  size=${sizes[$i]}
  awk -v l="${labels[$i]}" -v w="$wall" -v c="$cp_wall" -v r="$rss" -v s="$size" \
    -v u="$cpu" -v all="${walls[$i]}" 'BEGIN {
      printf "%-34s %7.2f %13.1f %7.2fx %10.2fx %11.1f %7.2f  %s\n", l, w, r / 1024,
        (c > 0 ? w / c : 0), r * 1024 / s, s / 1048576, u, all }'
done
echo
echo "value and from-float outputs byte-identical: $identical"
echo "targets (issue 5): wall <= 1.5x cp, peak RSS <= 1.2x output size"
