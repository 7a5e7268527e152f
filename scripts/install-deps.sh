#!/usr/bin/env bash
# Installs everything q-implant needs to build, test and benchmark, from Debian's packages.
# Arm NN (TfLite parser + CpuRef backend) is the real runtime the runtime tests run outputs on.
# Safe to run again; needs root (or sudo) on a Debian 12 (bookworm) machine.
set -euo pipefail
packages=(
  build-essential cmake pkg-config
  flatbuffers-compiler libflatbuffers-dev
  nlohmann-json3-dev
  libcli11-dev
  libgtest-dev libgmock-dev
  libbenchmark-dev time
  python3 python3-numpy
  libarmnn-dev libarmnntfliteparser-dev libarmnn-cpuref-backend22
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${missing[*]}"
