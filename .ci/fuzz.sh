#!/usr/bin/env bash
# The fuzz stage: builds the libFuzzer targets in fuzz/ with clang (fuzzer + address + undefined
# sanitizers) and runs each for FUZZ_SECONDS (default 60) over its seed corpus, as many side by
# side as there are cores. A crash, a sanitizer report or a leak fails the stage; the last lines of
# each run (executions, new units) are printed so the README's figures can be checked.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
jobs=$(nproc)
CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DQLINEAR_BUILD_FUZZERS=ON \
  -DQLINEAR_BUILD_TESTS=OFF -DQLINEAR_BUILD_BENCH=OFF -DQLINEAR_BUILD_EXAMPLES=OFF -DQLINEAR_BUILD_TOOLS=OFF \
  -DQLINEAR_INSTALL=OFF
cmake --build build/fuzz -j "$jobs"
shared=$(cd .. && pwd)/shared
logs=build/fuzz/logs
rm -rf "$logs"
mkdir -p "$logs"
# One target: its exit status and whole output go to $logs (the targets run side by side).
run_target() {
  local name=$1 bin=$2 rc=0
  shift 2
  "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=1048576 -print_final_stats=1 \
    "build/fuzz/corpus/$name" "$@" >"$logs/$name.log" 2>&1 || rc=$?
  echo "$rc" >"$logs/$name.rc"
}
# Each target is one process fuzzing for its full time; $jobs of them run at once.
names=()
running=0
for bin in build/fuzz/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  names+=("$name")
  mkdir -p "build/fuzz/corpus/$name"
  seeds=()
  # Seeds: fuzz/seeds/<name>/ (committed), plus the shared sample files for the file readers.
  [ -d "fuzz/seeds/$name" ] && seeds+=("fuzz/seeds/$name")
  case $name in
    fuzz_gguf*) [ -d "$shared/gguf-samples" ] && seeds+=("$shared/gguf-samples") ;;
  esac
  run_target "$name" "$bin" "${seeds[@]}" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait
status=0
for name in "${names[@]}"; do
  echo "--- $name: ${seconds} s ---"
  grep -E "^(stat::number_of_executed_units|stat::new_units_added|#[0-9]+ +DONE)|ERROR|SUMMARY|Assertion|runtime error" \
    "$logs/$name.log" || true
  rc=$(cat "$logs/$name.rc")
  if [ "$rc" -ne 0 ]; then
    echo "$name: exit status $rc (whole output: $logs/$name.log)" >&2
    status=1
  fi
done
exit "$status"
