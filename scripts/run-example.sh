#!/usr/bin/env bash
# Builds q-implant and runs it on the bundled examples (ONE's README Conv2D model with ifm, ker,
# bias and ofm and its qparam.json + 0.npy..9.npy; then the same with the bias left for q-implant
# to derive), printing what it changed. Outputs go to out/.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target q-implant
mkdir -p out
echo "== ONE's README example: ifm, ker, bias, ofm given (0.npy .. 9.npy)"
./build/src/q-implant examples/conv2d/Conv2D_000.circle examples/conv2d/qparam.json \
  out/Conv2D_000.q.circle --verbose
echo
echo "== the same with the bias left out of qparam.json: q-implant derives it"
./build/src/q-implant examples/conv2d-derived-bias/Conv2D_000.circle \
  examples/conv2d-derived-bias/qparam.json out/Conv2D_000.derived.q.circle --verbose
