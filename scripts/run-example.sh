#!/usr/bin/env bash
# Builds q-implant and runs it on the bundled example (ONE's Conv2D model with ifm, ker, bias
# and ofm, and the qparam.json + 0.npy..9.npy of ONE's README), printing what it changed.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target q-implant
mkdir -p out
./build/src/q-implant examples/conv2d/Conv2D_000.circle examples/conv2d/qparam.json \
  out/Conv2D_000.q.circle --verbose
