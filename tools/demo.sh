#!/usr/bin/env bash
# The main job: set up, show the devices, and prove the chosen one runs every kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
build/dnacl devices
build/dnacl selftest
