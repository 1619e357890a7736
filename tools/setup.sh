#!/usr/bin/env bash
# Installs whatever dnacl needs that is missing (Debian packages, as root), then
# configures and builds into build/. Safe to re-run: installs nothing twice.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake pkg-config
          ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd clinfo
          libclblast-dev libyaml-dev libhdf5-dev)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" 2>&1 | grep -vE '^\[ *[0-9]+%\]' || true
test -x build/dnacl || { echo "setup: build failed" >&2; exit 1; }
echo "setup: built build/dnacl"
