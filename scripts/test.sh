#!/usr/bin/env bash
# Builds and runs qlinear's whole test suite on a fresh Debian/Ubuntu machine, installing what is
# missing first. Stages: unit (ctest, g++ Release; the CUDA tests too where nvcc is found: they
# build, and skip without a GPU), asan (ctest under Address+UB sanitizers, clang; host code only),
# neon (aarch64 cross-build run under qemu), fuzz (libFuzzer, about a minute per target).
# Usage: scripts/test.sh [stage ...]     (no stage: all of them, in that order)
set -euo pipefail
cd "$(dirname "$0")/.."
stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(unit asan neon fuzz)
jobs=$(nproc)
extra=()
for s in "${stages[@]}"; do
  case $s in
    asan | fuzz) extra+=(clang lld libclang-rt-14-dev) ;;
    neon) extra+=(g++-aarch64-linux-gnu qemu-user) ;;
  esac
done
scripts/install_deps.sh libdnnl-dev nodejs npm "${extra[@]}"

stage_unit() {
  cmake -S . -B build/unit -G Ninja -DCMAKE_BUILD_TYPE=Release
  cmake --build build/unit -j "$jobs"
  ctest --test-dir build/unit -j "$jobs" --output-on-failure --timeout 300
}
stage_asan() {
  # ASan on everything built; UBSan on the test code except the kernel-heavy units (tests/CMakeLists.txt
  # says why). The examples, the tool and the compile-only checks are left to the unit stage.
  # The test code is compiled unoptimised with line tables only (file:line in the reports): its
  # compile takes a third of the time it took at -O1 with full debug information, and its run
  # about twice as long (about 2 min for all tests). The CPU kernels, which do most of the work,
  # keep -O1 (QLINEAR_KERNEL_UNITS_FLAGS).
  local flags="-fsanitize=address -fno-omit-frame-pointer"
  CC=clang CXX=clang++ cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DQLINEAR_BUILD_BENCH=OFF -DQLINEAR_BUILD_CUDA=OFF \
    -DQLINEAR_BUILD_EXAMPLES=OFF -DQLINEAR_BUILD_TOOLS=OFF -DQLINEAR_BUILD_COMPILE_CHECKS=OFF \
    -DQLINEAR_TEST_UBSAN="-fsanitize=undefined -fno-sanitize-recover=all" \
    -DCMAKE_CXX_FLAGS_DEBUG=-gline-tables-only -DCMAKE_CXX_FLAGS="-O0 $flags" -DQLINEAR_KERNEL_UNITS_FLAGS=-O1 \
    -DCMAKE_EXE_LINKER_FLAGS="$flags"
  cmake --build build/asan -j "$jobs"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build/asan -j "$jobs" --output-on-failure --timeout 600 -LE "packaging|slow"
}
stage_neon() {
  if [ -x .ci/neon.sh ]; then bash .ci/neon.sh; else echo "neon: .ci/neon.sh missing" >&2; return 1; fi
}
stage_fuzz() {
  if [ -x .ci/fuzz.sh ]; then bash .ci/fuzz.sh; else echo "fuzz: .ci/fuzz.sh missing" >&2; return 1; fi
}

for s in "${stages[@]}"; do
  echo "=== stage $s ($(date -u +%H:%M:%S)) ==="
  start=$SECONDS
  "stage_$s"
  echo "=== stage $s passed in $((SECONDS - start)) s ==="
done
