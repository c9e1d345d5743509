#!/usr/bin/env bash
# The fuzz stage: builds the libFuzzer targets in fuzz/ with clang (fuzzer + address + undefined
# sanitizers) and runs each for FUZZ_SECONDS (default 60) over its seed corpus. A crash, a
# sanitizer report or a leak fails the stage; the last line of each run (executions, coverage)
# is printed so the README's figures can be checked.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
jobs=$(nproc)
CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DQLINEAR_BUILD_FUZZERS=ON \
  -DQLINEAR_BUILD_TESTS=OFF -DQLINEAR_BUILD_BENCH=OFF -DQLINEAR_BUILD_EXAMPLES=OFF -DQLINEAR_BUILD_TOOLS=OFF \
  -DQLINEAR_INSTALL=OFF
cmake --build build/fuzz -j "$jobs"
shared=$(cd .. && pwd)/shared
for bin in build/fuzz/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  corpus=build/fuzz/corpus/$name
  mkdir -p "$corpus"
  seeds=()
  # Seeds: fuzz/seeds/<name>/ (committed), plus the shared sample files for the file readers.
  [ -d "fuzz/seeds/$name" ] && seeds+=("fuzz/seeds/$name")
  case $name in
    fuzz_gguf*) [ -d "$shared/gguf-samples" ] && seeds+=("$shared/gguf-samples") ;;
  esac
  echo "--- $name: ${seconds} s ---"
  "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=1048576 -print_final_stats=1 \
    "$corpus" "${seeds[@]}" 2>&1 | grep -E "^(stat::number_of_executed_units|stat::new_units_added|#[0-9]+ +DONE)|ERROR|SUMMARY|Assertion|runtime error" || true
  test "${PIPESTATUS[0]}" -eq 0
done
