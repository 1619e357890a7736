#!/usr/bin/env bash
# Set up (installing what is missing), build, and run the whole test suite on the
# device the dispatcher picks (PoCL's CPU device on a machine without a GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
