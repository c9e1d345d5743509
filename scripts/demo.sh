#!/usr/bin/env bash
# Builds and runs the main demo: a realistic layer quantized in every scheme, one line each.
# Usage: scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
cmake -S . -B build/demo -G Ninja -DCMAKE_BUILD_TYPE=Release -DQLINEAR_BUILD_TESTS=OFF -DQLINEAR_BUILD_BENCH=OFF \
  -DQLINEAR_BUILD_TOOLS=OFF >/dev/null
cmake --build build/demo --target demo
build/demo/examples/demo "$@"
