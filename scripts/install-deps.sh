#!/usr/bin/env bash
# Installs everything q-implant needs to build, test and benchmark, from Debian's packages, and
# the pinned npm packages of tools/litert-run. The runtime tests run outputs on Arm NN (TfLite
# parser + CpuRef backend) and on LiteRT (TFLite's runtime as WebAssembly, run by Node).
# Safe to run again; needs root (or sudo) on a Debian 12 (bookworm) machine.
set -euo pipefail
packages=(
  build-essential cmake pkg-config
  flatbuffers-compiler libflatbuffers-dev
  nlohmann-json3-dev
  libcli11-dev
  libgtest-dev libgmock-dev
  libbenchmark-dev time
  python3 python3-numpy python3-pytest python3-setuptools python3-pip
  dpkg-dev file python3-dev pybind11-dev
  python3-torch python3-onnx
  libonnx-dev libprotobuf-dev protobuf-compiler libzip-dev
  libonnx-testdata
  clang libclang-rt-14-dev
  libarmnn-dev libarmnntfliteparser-dev libarmnn-cpuref-backend22
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node and npm are looked for as commands: a Node installed some other way (whose npm comes
# with it) is kept rather than replaced by Debian's.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
else
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  echo "install-deps: installed ${missing[*]}"
fi

# tools/litert-run: `npm ci` only when node_modules was not installed from this very lock file.
litert="$(cd "$(dirname "$0")/.." && pwd)/tools/litert-run"
stamp="$litert/node_modules/.installed-package-lock.json"
if cmp -s "$litert/package-lock.json" "$stamp"; then
  echo "install-deps: tools/litert-run node modules present"
else
  (cd "$litert" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$litert/package-lock.json" "$stamp"
  echo "install-deps: installed tools/litert-run node modules (npm ci)"
fi
