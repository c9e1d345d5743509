#!/usr/bin/env bash
# Builds qlinear_bench (Release), fetches the ggml peer if missing, runs the benchmark and turns
# its JSON into bench/results/: qlinear_bench.json, qlinear_bench.log (the console output, with
# what each implementation is), results.md and plot_<N>x<K>.svg (bench/report.py).
# Usage: bench/run.sh [--out DIR] [qlinear_bench flags...]     e.g. bench/run.sh --quick
# The full run takes a few tens of minutes on a 2-core machine: run it on a quiet machine
# (it prints the load average first; the numbers mean little while others compile).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$repo/bench/results
if [ "${1:-}" = "--out" ]; then
  out=$2
  shift 2
fi
build=${QLINEAR_BENCH_BUILD:-$repo/build/bench}
"$repo/bench/peers/fetch_ggml.sh"
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DQLINEAR_BUILD_TESTS=OFF \
  -DQLINEAR_BUILD_EXAMPLES=OFF -DQLINEAR_BUILD_TOOLS=OFF >/dev/null
cmake --build "$build" --target qlinear_bench -j "$(nproc)"
mkdir -p "$out"
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
command=(bench/run.sh "$@")
(cd "$repo" && "$build/bench/qlinear_bench" "$@" --benchmark_out="$out/qlinear_bench.json" \
  --benchmark_out_format=json) 2>&1 | tee "$out/qlinear_bench.log"
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/qlinear_bench.log"
python3 "$repo/bench/report.py" "$out/qlinear_bench.json" --out-dir "$out" --command "${command[*]}"
