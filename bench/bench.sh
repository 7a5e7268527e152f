#!/usr/bin/env bash
# q-implant benchmark: implant per-channel int8 parameters into every weight of a float32 model,
# once with `value` npy files and once quantizing from float, and compare wall time, CPU time and
# peak RSS with the I/O the job cannot avoid, all in one run on the same files. Models: --size-mb
# (default 1024, buffers inline), --large-mb (default 3072, buffers external, as converters write
# past 2 GB; 0 skips it) and, unless --small 0, two models of many small tensors (12,100 tensors
# of [64, 64] layers; 100,000 tensors of [32, 32] layers).
#
#   bench/bench.sh [--size-mb N] [--large-mb N] [--small 0|1] [--format circle|tflite]
#                  [--runs N] [--keep]
#
# Rows per model: `cp`; `cp` + fsync; `floor`: cat of the model, the qparam.json and every npy file
# it names, then writing and fsyncing as many bytes as q-implant's output has (dd from /dev/zero,
# 8 MiB blocks), once for the value inputs and once for the from-float inputs; the two implants;
# `inspect`, `check` and `names` (on the large and the small models). On the small models also
# the suggestions: a qparam.json whose every key is misspelled, through the implant (which must
# fail, listing every key) and `names`. `read` (cat of the model) is what "beyond reading the
# FlatBuffer" is measured against.
#
# Builds Release in build-bench/, generates the models (bench/make_bench_model.cpp) in a scratch
# directory under $BENCH_DIR (default /tmp), removed at the end unless --keep. Needs GNU time
# (/usr/bin/time, Debian package `time`) and about 3.5x the models' size of free disk. Not run by
# CI (it takes minutes and wants an idle machine).
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
small=1

usage() { sed -n '2,28s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
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
    --small) small=${2:?--small needs 0 or 1}; shift 2 ;;
    --small=*) small=${1#*=}; shift ;;
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
case "$small" in 0 | 1) ;; *) die "--small must be 0 or 1" ;; esac
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
need_mb=$(((size_mb + large_mb + small * 210) * 7 / 2 + 64))
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

# Model m: directory, generator flags, description, whether it is a many-small-tensor model.
model_dirs=("$work/data")
model_flags=("--size-mb $size_mb")
model_names=("${size_mb} MiB, inline buffers")
model_short=("${size_mb}M")
model_small=(0)
if [ "$large_mb" -gt 0 ]; then
  model_dirs+=("$work/large")
  model_flags+=("--size-mb $large_mb --external")
  model_names+=("${large_mb} MiB, external buffers")
  model_short+=("${large_mb}M")
  model_small+=(0)
fi
if [ "$small" -eq 1 ]; then
  # 4,033 layers of [64, 64]: the 12,100-tensor model of issue 16 (64 MiB, 24 MiB out); and
  # 33,333 layers of [32, 32]: 100,000 tensors.
  model_dirs+=("$work/t12k" "$work/t100k")
  model_flags+=("--layers 4033 --width 64" "--layers 33333 --width 32")
  model_names+=("12,100 tensors ([64, 64] layers), inline" "100,000 tensors ([32, 32] layers), inline")
  model_short+=("12.1kT" "100kT")
  model_small+=(1 1)
fi
for m in "${!model_dirs[@]}"; do
  echo "bench: generating the ${model_names[$m]} $format model in ${model_dirs[$m]}"
  # shellcheck disable=SC2086  # the flags are words
  "$timer" -f '%e %M' -o "$work/gen.time" "$generator" "${model_dirs[$m]}" --format "$format" \
    ${model_flags[$m]} >/dev/null
  read -r gen_wall gen_rss <"$work/gen.time"
  echo "bench: generator took ${gen_wall} s, peak RSS $((gen_rss / 1024)) MiB"
done

# Per model: what each floor reads (the qparam.json and the npy files it names, relative to the
# model's directory, NUL-separated for xargs), and the all-misspelled qparam.json of the
# suggestion rows: each key's last word with two letters swapped (weight -> wieght, bias -> bais,
# out -> otu, input -> inptu), so that no key resolves and every one needs suggestions.
model_tensors=()
for m in "${!model_dirs[@]}"; do
  d=${model_dirs[$m]}
  for v in value float; do
    { printf 'qparam_%s.json\0' "$v"
      grep -o '"npy/[^"]*"' "$d/qparam_$v.json" | tr -d '"' | sort -u | tr '\n' '\0'
    } >"$d/inputs_$v.list"
  done
  sed -e 's#^  "\(fc[0-9]*\)/weight": {#  "\1/wieght": {#' \
    -e 's#^  "\(fc[0-9]*\)/bias": {#  "\1/bais": {#' \
    -e 's#^  "\(fc[0-9]*\)/out": {#  "\1/otu": {#' \
    -e 's#^  "input": {#  "inptu": {#' "$d/qparam_float.json" >"$d/qparam_typo.json"
  layers=$(grep -c '_weight_scale.npy' "$d/qparam_float.json")
  model_tensors+=($((1 + 3 * layers)))
  keys=$(grep -c '^  "' "$d/qparam_typo.json")
  [ "$keys" -eq $((1 + 3 * layers)) ] || die "qparam_typo.json of ${model_names[$m]}: $keys keys"
done
sync

# --- warm-up: every input read once, so all measured commands start from a warm page cache;
# one implant per model gives the output size the floor rows write -------------------------------
echo "bench: warm-up (cat of each model and its npy files, one implant; not measured)"
out_bytes=()
for m in "${!model_dirs[@]}"; do
  d=${model_dirs[$m]}
  cat "$d/model.$format" >/dev/null
  (cd "$d" && xargs -0 -a inputs_value.list cat -- >/dev/null)
  "$qimplant" -q "$d/model.$format" "$d/qparam_float.json" "$d/out_float.$format" ||
    die "warm-up implant of ${model_names[$m]} failed"
  out_bytes+=("$(stat -c %s "$d/out_float.$format")")
done
sync

# --- measurements --------------------------------------------------------------------------------
# One row per measured command: its model, its kind, its label, its output, its expected status.
labels=() row_model=() kinds=() outputs=() statuses=()
add_row() {  # model kind label output [status]
  row_model+=("$1")
  kinds+=("$2")
  labels+=("$3")
  outputs+=("$4")
  statuses+=("${5:-0}")
}
for m in "${!model_dirs[@]}"; do
  d=${model_dirs[$m]}
  add_row "$m" read "read: cat model" ""
  add_row "$m" cp "cp model out" "$d/out_cp"
  add_row "$m" cp_fsync "cp model out + fsync" "$d/out_cp"
  add_row "$m" floor_value "floor, value inputs" "$d/out_floor"
  add_row "$m" floor_float "floor, from-float inputs" "$d/out_floor"
  add_row "$m" value "q-implant, value npy" "$d/out_value.$format"
  add_row "$m" float "q-implant, from float" "$d/out_float.$format"
  add_row "$m" inspect_in "inspect (float input)" ""
  add_row "$m" inspect "inspect (output)" ""
  add_row "$m" check "check (output)" ""
  add_row "$m" names "names (every key resolves)" ""
  if [ "${model_small[$m]}" -eq 1 ]; then
    add_row "$m" typo_implant "implant, every key misspelled" "$d/out_typo.$format" 1
    add_row "$m" typo_names "names, every key misspelled" "" 1
  fi
done

# shellcheck disable=SC2016  # $1.. are expanded by the inner bash
cp_fsync='cp "$1" "$2" && sync "$2"'  # sync FILE: fsync of that file, as q-implant does for its output
# shellcheck disable=SC2016
floor='cd "$1" && cat "$2" >/dev/null && xargs -0 -a "$3" cat -- >/dev/null &&
  dd if=/dev/zero of="$4" bs=8M count="$5" iflag=count_bytes conv=fsync status=none'
command_for() {  # row index -> cmd
  local m=${row_model[$1]}
  local d=${model_dirs[$m]}
  local model="$d/model.$format" out=${outputs[$1]} float_out="$d/out_float.$format"
  case "${kinds[$1]}" in
    read) cmd=(cat "$model") ;;
    cp) cmd=(cp "$model" "$out") ;;
    cp_fsync) cmd=(bash -c "$cp_fsync" _ "$model" "$out") ;;
    floor_value) cmd=(bash -c "$floor" _ "$d" "$model" inputs_value.list "$out" "${out_bytes[$m]}") ;;
    floor_float) cmd=(bash -c "$floor" _ "$d" "$model" inputs_float.list "$out" "${out_bytes[$m]}") ;;
    value) cmd=("$qimplant" -q "$model" "$d/qparam_value.json" "$out") ;;
    float) cmd=("$qimplant" -q "$model" "$d/qparam_float.json" "$out") ;;
    inspect_in) cmd=("$qimplant" inspect "$model") ;;
    inspect) cmd=("$qimplant" inspect "$float_out") ;;
    check) cmd=("$qimplant" check "$float_out") ;;
    names) cmd=("$qimplant" names "$model" "$d/qparam_float.json") ;;
    typo_implant) cmd=("$qimplant" -q "$model" "$d/qparam_typo.json" "$out") ;;
    typo_names) cmd=("$qimplant" names "$model" "$d/qparam_typo.json") ;;
  esac
}

declare -A walls rsss users syss sizes
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= runs; r++)); do
  for i in "${!labels[@]}"; do
    [ -n "${outputs[$i]}" ] && rm -f "${outputs[$i]}"
    sync
    command_for "$i"
    # %e %M: wall seconds, peak RSS KiB; %U %S: CPU seconds, steadier than wall on a busy machine.
    status=0
    "$timer" -f '%e %M %U %S' -o "$work/run.time" "${cmd[@]}" >/dev/null 2>"$work/run.err" ||
      status=$?
    if [ "$status" -ne "${statuses[$i]}" ]; then
      head -n 5 "$work/run.err" >&2
      die "'${labels[$i]}' exited with $status, expected ${statuses[$i]}"
    fi
    # GNU time puts "Command exited with non-zero status N" before the figures.
    read -r wall rss user sys < <(tail -n 1 "$work/run.time")
    walls[$i]+="$wall "
    rsss[$i]+="$rss "
    users[$i]+="$user "
    syss[$i]+="$sys "
    sizes[$i]=0
    [ -n "${outputs[$i]}" ] && [ -f "${outputs[$i]}" ] && sizes[$i]=$(stat -c %s "${outputs[$i]}")
    printf 'bench: run %d/%d  %-7s %-31s %6.2f s wall  %6.2f s user  %6.2f s sys  %6d MiB\n' "$r" \
      "$runs" "${model_short[${row_model[$i]}]}" "${labels[$i]}" "$wall" "$user" "$sys" \
      $((rss / 1024))
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

identical=()
for m in "${!model_dirs[@]}"; do
  d=${model_dirs[$m]}
  identical+=("no (outputs differ!)")
  cmp -s "$d/out_value.$format" "$d/out_float.$format" && identical[$m]="yes"
  [ ! -e "$d/out_typo.$format" ] || identical[$m]+="; the misspelled implant left an output!"
done

# --- report --------------------------------------------------------------------------------------
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END {
  if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maximum() { tr ' ' '\n' | grep . | sort -g | tail -n 1; }
row_of() {  # model kind -> row index
  local j
  for j in "${!labels[@]}"; do
    if [ "${row_model[$j]}" -eq "$1" ] && [ "${kinds[$j]}" = "$2" ]; then echo "$j"; return; fi
  done
}

fs=$(df -PT "$work" | awk 'NR == 2 { print $2 }')
echo
echo "q-implant benchmark, $format; per model: FULLY_CONNECTED layers with per-channel int8 weights,"
echo "  per-channel int32 biases, int8 activations; inspect reads the float input and the from-float output, check the output"
echo "  $runs runs per command, interleaved; wall, user, sys: median; peak RSS (GNU time %M): max"
echo "  warm page cache for every command (inputs read once before; sync before each run, untimed)"
echo "  $(nproc) CPUs, $fs on $base, load average before $load_before, after $load_after"
for m in "${!model_dirs[@]}"; do
  d=${model_dirs[$m]}
  echo "  model ${model_short[$m]}: ${model_names[$m]}, $(stat -c %s "$d/model.$format") bytes," \
    "${model_tensors[$m]} tensors, output ${out_bytes[$m]} bytes; value and from-float outputs byte-identical: ${identical[$m]}"
done
echo "  wall/floor, sys/floor: against the floor row of the same inputs; RSS/limit: peak RSS over"
echo "  (2 x output + 32 MiB); +read s: wall beyond the model's read row; per tensor: wall and peak RSS"
echo
printf '%-7s %-31s %6s %6s %6s %8s %10s %9s %9s %7s %8s %8s  %s\n' "model" "command" "wall s" \
  "user s" "sys s" "RSS MiB" "wall/floor" "sys/floor" "RSS/limit" "+read s" "us/tens" \
  "KiB/tens" "wall of each run (s)"
for i in "${!labels[@]}"; do
  m=${row_model[$i]}
  floor_row=""
  case "${kinds[$i]}" in
    value | typo_implant) floor_row=$(row_of "$m" floor_value) ;;
    float) floor_row=$(row_of "$m" floor_float) ;;
  esac
  floor_wall=0 floor_sys=0
  if [ -n "$floor_row" ]; then
    floor_wall=$(median <<<"${walls[$floor_row]}")
    floor_sys=$(median <<<"${syss[$floor_row]}")
  fi
  read_wall=-1
  case "${kinds[$i]}" in
    inspect_in | inspect | check | names | typo_names) read_wall=$(median <<<"${walls[$(row_of "$m" read)]}") ;;
  esac
  case "${kinds[$i]}" in value | float) limit=1 ;; *) limit=0 ;; esac
  awk -v mo="${model_short[$m]}" -v l="${labels[$i]}" -v w="$(median <<<"${walls[$i]}")" \
    -v u="$(median <<<"${users[$i]}")" -v s="$(median <<<"${syss[$i]}")" \
    -v r="$(maximum <<<"${rsss[$i]}")" -v fw="$floor_wall" -v fs="$floor_sys" -v rw="$read_wall" \
    -v lim="$limit" -v out="${out_bytes[$m]}" -v t="${model_tensors[$m]}" \
    -v all="${walls[$i]}" 'BEGIN {
      wf = fw > 0 ? sprintf("%9.2fx", w / fw) : sprintf("%10s", "-")
      sf = fs > 0 ? sprintf("%8.2fx", s / fs) : sprintf("%9s", "-")
      rl = lim ? sprintf("%8.2fx", r * 1024 / (2 * out + 33554432)) : sprintf("%9s", "-")
      br = rw >= 0 ? sprintf("%7.2f", w - rw) : sprintf("%7s", "-")
      printf "%-7s %-31s %6.2f %6.2f %6.2f %8.1f %s %s %s %s %8.2f %8.2f  %s\n", mo, l, w, u, s,
        r / 1024, wf, sf, rl, br, w * 1e6 / t, r / t, all }'
done
echo
echo "targets (issue 16): implants wall <= 1.2x floor and sys <= 1.5x floor's on the large-tensor"
echo "models, wall <= 1.5x floor on the small-tensor ones; peak RSS <= 2 x output + 32 MiB;"
echo "inspect / check / names under 0.2 s beyond reading the model; misspelled keys under 1 s"
