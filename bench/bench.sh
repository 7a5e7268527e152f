#!/usr/bin/env bash
# q-implant benchmark: implant per-channel int8 parameters into every weight of a float32 model,
# once with `value` npy files and once quantizing from float, and compare wall time and peak RSS
# with `cp` of the same file, all in one run on the same files. Two models: --size-mb (default
# 1024, buffers inline) and --large-mb (default 3072, buffers external, as converters write past
# 2 GB; 0 skips it), where `inspect` of the input and output and `check` of the output are
# timed too.
#
#   bench/bench.sh [--size-mb N] [--large-mb N] [--format circle|tflite] [--runs N] [--keep]
#
# Builds Release in build-bench/, generates the models (bench/make_bench_model.cpp) in a scratch
# directory under $BENCH_DIR (default /tmp), removed at the end unless --keep. Needs GNU time
# (/usr/bin/time, Debian package `time`) and about 3.5x the models' size of free disk.
#
# Page cache: nothing is dropped (that needs root). The model and npy files are read once before
# the first measurement, so every measured command reads its inputs from a warm cache; `sync`
# runs (untimed) before each measurement so no command pays for an earlier one's writeback.
# Commands are interleaved round by round, so load changes hit all of them alike.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size_mb=1024
large_mb=3072
format=circle
runs=3
keep=0

usage() { sed -n '2,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
die() {
  echo "bench: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --size-mb) size_mb=${2:?--size-mb needs a value}; shift 2 ;;
    --size-mb=*) size_mb=${1#*=}; shift ;;
    --large-mb) large_mb=${2:?--large-mb needs a value}; shift 2 ;;
    --large-mb=*) large_mb=${1#*=}; shift ;;
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
if ! [[ $large_mb =~ ^[0-9]+$ ]]; then die "--large-mb must be a number of MiB (0: no large model)"; fi
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
need_mb=$(((size_mb + large_mb) * 7 / 2 + 64))
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

# Model m: directory, size, generator flags. 0 is the inline model, 1 the large external one.
model_dirs=("$work/data")
model_sizes=("$size_mb")
model_flags=("")
model_names=("${size_mb} MiB, inline buffers")
if [ "$large_mb" -gt 0 ]; then
  model_dirs+=("$work/large")
  model_sizes+=("$large_mb")
  model_flags+=("--external")
  model_names+=("${large_mb} MiB, external buffers")
fi
for m in "${!model_dirs[@]}"; do
  echo "bench: generating a ${model_sizes[$m]} MiB $format model in ${model_dirs[$m]}"
  # shellcheck disable=SC2086  # the flags are words
  "$timer" -f '%e %M' -o "$work/gen.time" "$generator" "${model_dirs[$m]}" \
    --size-mb "${model_sizes[$m]}" --format "$format" ${model_flags[$m]}
  read -r gen_wall gen_rss <"$work/gen.time"
  echo "bench: generator took ${gen_wall} s, peak RSS $((gen_rss / 1024)) MiB"
done
sync

# --- warm-up: every input read once, so all measured commands start from a warm page cache -------
echo "bench: warm-up (cp of each model, read of the npy files; not measured)"
for d in "${model_dirs[@]}"; do
  cp "$d/model.$format" "$work/warmup"
  cat "$d"/npy/*.npy >/dev/null
  rm -f "$work/warmup"
done
sync

# --- measurements --------------------------------------------------------------------------------
# One row per measured command: its model, its kind, its output.
labels=() row_model=() kinds=() outputs=()
add_row() {  # model kind label output
  row_model+=("$1")
  kinds+=("$2")
  labels+=("$3")
  outputs+=("$4")
}
for m in "${!model_dirs[@]}"; do
  d=${model_dirs[$m]}
  add_row "$m" cp "cp model out" "$d/out_cp"
  add_row "$m" cp_fsync "cp model out + fsync (reference)" "$d/out_cp"
  add_row "$m" value "q-implant, value npy" "$d/out_value.$format"
  add_row "$m" float "q-implant, from float" "$d/out_float.$format"
  if [ "$m" -eq 1 ]; then
    add_row "$m" inspect_in "q-implant inspect (float input)" ""
    add_row "$m" inspect "q-implant inspect (output)" ""
    add_row "$m" check "q-implant check (output)" ""
  fi
done

# shellcheck disable=SC2016  # $1 and $2 are expanded by the inner bash
cp_fsync='cp "$1" "$2" && sync "$2"'  # sync FILE: fsync of that file, as q-implant does for its output
command_for() {  # row index -> cmd
  local d=${model_dirs[${row_model[$1]}]}
  local model="$d/model.$format" out=${outputs[$1]} float_out="$d/out_float.$format"
  case "${kinds[$1]}" in
    cp) cmd=(cp "$model" "$out") ;;
    cp_fsync) cmd=(bash -c "$cp_fsync" _ "$model" "$out") ;;
    value) cmd=("$qimplant" -q "$model" "$d/qparam_value.json" "$out") ;;
    float) cmd=("$qimplant" -q "$model" "$d/qparam_float.json" "$out") ;;
    inspect_in) cmd=("$qimplant" inspect "$model") ;;
    inspect) cmd=("$qimplant" inspect "$float_out") ;;
    check) cmd=("$qimplant" check "$float_out") ;;
  esac
}

declare -A walls rsss cpus sizes
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= runs; r++)); do
  for i in "${!labels[@]}"; do
    [ -n "${outputs[$i]}" ] && rm -f "${outputs[$i]}"
    sync
    command_for "$i"
    # %e %M: wall seconds, peak RSS KiB; %U %S: CPU seconds, steadier than wall on a busy machine.
    "$timer" -f '%e %M %U %S' -o "$work/run.time" "${cmd[@]}" >/dev/null ||
      die "'${labels[$i]}' failed"
    read -r wall rss user sys <"$work/run.time"
    walls[$i]+="$wall "
    rsss[$i]+="$rss "
    cpus[$i]+="$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') "
    sizes[$i]=0
    [ -n "${outputs[$i]}" ] && sizes[$i]=$(stat -c %s "${outputs[$i]}")
    printf 'bench: run %d/%d  %-12s %-34s %6.2f s wall  %6.2f s user  %6.2f s sys  %6d MiB\n' "$r" \
      "$runs" "${model_sizes[${row_model[$i]}]} MiB" "${labels[$i]}" "$wall" "$user" "$sys" \
      $((rss / 1024))
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

identical=()
for m in "${!model_dirs[@]}"; do
  d=${model_dirs[$m]}
  identical+=("no (outputs differ!)")
  cmp -s "$d/out_value.$format" "$d/out_float.$format" && identical[$m]="yes"
done

# --- report --------------------------------------------------------------------------------------
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END {
  if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maximum() { tr ' ' '\n' | grep . | sort -g | tail -n 1; }

fs=$(df -PT "$work" | awk 'NR == 2 { print $2 }')
echo
echo "q-implant benchmark, $format; per model: FULLY_CONNECTED layers with per-channel int8 weights,"
echo "  per-channel int32 biases, int8 activations; inspect reads the float input and the from-float output, check the output"
echo "  $runs runs per command, interleaved; wall and CPU (user + sys): median; peak RSS (GNU time %M): max"
echo "  warm page cache for every command (inputs read once before; sync before each run, untimed)"
echo "  $(nproc) CPUs, $fs on $base, load average before $load_before, after $load_after"
for m in "${!model_dirs[@]}"; do
  d=${model_dirs[$m]}
  input_size=$(stat -c %s "$d/model.$format")
  layers=$(grep -c '_weight_scale.npy' "$d/qparam_float.json")
  echo "  model $((m + 1)): ${model_names[$m]}, $input_size bytes, $layers layers; value and from-float outputs byte-identical: ${identical[$m]}"
done
echo
printf '%-7s %-34s %7s %13s %8s %11s %11s %7s  %s\n' "model" "command" "wall s" "peak RSS MiB" \
  "wall/cp" "RSS/output" "output MiB" "CPU s" "wall of each run (s)"
for i in "${!labels[@]}"; do
  m=${row_model[$i]}
  cp_row=0
  for j in "${!labels[@]}"; do
    if [ "${row_model[$j]}" -eq "$m" ] && [ "${kinds[$j]}" = cp ]; then cp_row=$j; fi
  done
  cp_wall=$(median <<<"${walls[$cp_row]}")
  wall=$(median <<<"${walls[$i]}")
  rss=$(maximum <<<"${rsss[$i]}")
  cpu=$(median <<<"${cpus[$i]}")
  case "${kinds[$i]}" in value | float) show_rss=1 ;; *) show_rss=0 ;; esac
  case "${kinds[$i]}" in inspect | inspect_in | check) show_cp=0 ;; *) show_cp=1 ;; esac
  awk -v mo="$((m + 1)) ${model_sizes[$m]}M" -v l="${labels[$i]}" -v w="$wall" -v c="$cp_wall" \
    -v r="$rss" -v s="${sizes[$i]}" -v sr="$show_rss" -v sc="$show_cp" -v u="$cpu" -v all="${walls[$i]}" 'BEGIN {
      ratio = (sr && s > 0) ? sprintf("%10.2fx", r * 1024 / s) : sprintf("%11s", "-")
      size = s > 0 ? sprintf("%11.1f", s / 1048576) : sprintf("%11s", "-")
      vs_cp = sc ? sprintf("%7.2fx", c > 0 ? w / c : 0) : sprintf("%8s", "-")
      printf "%-7s %-34s %7.2f %13.1f %s %s %s %7.2f  %s\n", mo, l, w, r / 1024, vs_cp, ratio,
        size, u, all }'
done
echo
echo "targets (issue 5): wall <= 1.5x cp, peak RSS <= 1.2x output size, for both models;"
echo "inspect and check on the large model well under a second of CPU"
