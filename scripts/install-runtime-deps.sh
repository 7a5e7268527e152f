#!/usr/bin/env bash
# Installs Arm NN from Debian's packages for the optional runtime tests (tests/runtime): its
# TfLite parser, the CpuRef CPU backend, and python3 + numpy for the reference results.
# Safe to run again; needs root (or sudo) on a Debian 12 (bookworm) machine. Only Debian 12
# ships these (Arm NN 20.08); where apt has no such package the script says so and exits 1,
# and the runtime tests are then simply not added by CMake.
set -euo pipefail
packages=(
  libarmnn-dev libarmnntfliteparser-dev libarmnn-cpuref-backend22
  python3 python3-numpy
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-runtime-deps: all packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  echo "install-runtime-deps: could not install ${missing[*]} (Arm NN packages are in Debian 12)" >&2
  exit 1
fi
echo "install-runtime-deps: installed ${missing[*]}"
