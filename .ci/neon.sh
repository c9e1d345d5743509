#!/usr/bin/env bash
# The Arm stage: cross-builds the tests for aarch64 (NEON, dotprod, i8mm kernels) and runs them
# under qemu-aarch64, once on a CPU with every extension and once on a plain Armv8.0 core, so the
# dispatch falls back to the baseline NEON kernels. GoogleTest is built from Debian's sources
# (/usr/src/googletest) with the cross compiler.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
# The kernels (prebuilt/ and the tests of one level's kernels) are compiled as a consumer's Release
# build compiles them (-O3); the rest of the test code, which reaches them through the prebuilt
# copy, at -O1: a third less compile time, and the unit stage runs it at -O3 on x86.
cmake -S . -B build/neon -G Ninja -DCMAKE_BUILD_TYPE=Release \
  --toolchain cmake/toolchains/aarch64-linux-gnu.cmake \
  -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" -DQLINEAR_KERNEL_UNITS_FLAGS=-O3 \
  -DQLINEAR_BUILD_BENCH=OFF -DQLINEAR_BUILD_EXAMPLES=OFF -DQLINEAR_BUILD_TOOLS=OFF -DQLINEAR_INSTALL=OFF
# The areas whose code differs on Arm (the CPU kernels and what runs on them); the GPU backends'
# emulators and the header checks are the same code on every host and run in the other stages.
areas=(core schemes layers io train backends_cpu)
cmake --build build/neon -j "$jobs" --target "${areas[@]/%/_tests}"
labels="^($(IFS='|'; echo "${areas[*]}"))\$"
echo "--- qemu-aarch64 -cpu max: the tests of ${areas[*]} ---"
QEMU_CPU=max ctest --test-dir build/neon -j "$jobs" --output-on-failure --timeout 900 -L "$labels" -LE "packaging|slow|x86"
echo "--- qemu-aarch64 -cpu cortex-a53 (Armv8.0, no dotprod/i8mm): the backend tests ---"
QEMU_CPU=cortex-a53 ctest --test-dir build/neon -j "$jobs" --output-on-failure --timeout 900 -L "^backends_cpu$"
