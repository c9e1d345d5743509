#!/usr/bin/env bash
# The GPU check of the CUDA backend, in one command on a machine with an NVIDIA GPU (sm_80 or
# newer): configure and build the CUDA tests and benchmark for this GPU's architecture, run the
# tests, run the benchmark (qlinear, cuBLAS f16, device copy; then ggml's CUDA backend when its
# library can be found), and print a short table last. About 6–10 minutes on an H100/H200 with
# 16 cores, most of it the build.
#
# Usage: scripts/cuda_check.sh            results go to $OUT (if set) or build/cuda-check/results
#   QLINEAR_GGML_CUDA=/path/libggml-cuda.so   use this ggml CUDA library for the ggml peer; else
#   the script looks in build/ggml-cuda/ and, with network access, fetches the npm package
#   @node-llama-cpp/linux-x64-cuda there (npm pack; about 140 MB).
#   CUDA_CHECK_MIN_TIME=0.05                  seconds per benchmark (Google Benchmark min time)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=build/cuda-check
results=${OUT:-$build/results}
mkdir -p "$results"
jobs=$(nproc)
min_time=${CUDA_CHECK_MIN_TIME:-0.05}
log() { echo "=== $* ($(date -u +%H:%M:%S))"; }

log "GPU"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv || true
export PATH=$PATH:/usr/local/cuda/bin
command -v nvcc >/dev/null || { echo "cuda_check: nvcc not found (install the CUDA toolkit)" >&2; exit 2; }
nvcc --version | tail -2

# Prerequisites: install them where apt can reach a mirror, otherwise say what is missing.
missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v ninja >/dev/null || missing+=(ninja-build)
[ -d /usr/include/eigen3 ] || missing+=(libeigen3-dev)
[ -f /usr/include/gtest/gtest.h ] || missing+=(libgtest-dev)
[ -f /usr/include/benchmark/benchmark.h ] || missing+=(libbenchmark-dev)
if ((${#missing[@]})); then
  echo "cuda_check: missing ${missing[*]}; trying scripts/install_deps.sh"
  scripts/install_deps.sh || { echo "cuda_check: could not install ${missing[*]}" >&2; exit 2; }
fi

# Build for this GPU only (both sm_80 and sm_90 are what CI compiles).
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .' || true)
[ -n "$arch" ] || arch="80;90"
log "configure (architectures $arch)"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DQLINEAR_CUDA_ARCHITECTURES="$arch" \
  -DQLINEAR_BUILD_EXAMPLES=OFF -DQLINEAR_BUILD_TOOLS=OFF -DQLINEAR_INSTALL=OFF >"$results/configure.log"
grep "qlinear:" "$results/configure.log" || true
log "build"
time cmake --build "$build" -j "$jobs" --target backends_cuda_tests backends_cuda_host_tests cuda_bench \
  >"$results/build.log" 2>&1 || { tail -50 "$results/build.log"; exit 1; }

log "tests"
tests_rc=0
"$build/tests/backends_cuda_host_tests" --gtest_brief=1 >"$results/host_tests.log" 2>&1 || tests_rc=1
tail -3 "$results/host_tests.log"
timeout 300 "$build/tests/backends_cuda_tests" --gtest_output=json:"$results/cuda_tests.json" \
  >"$results/cuda_tests.log" 2>&1 || tests_rc=1
grep -E "^\[  (PASSED|FAILED|SKIPPED) |^\[==========\]|Failure|GPU test skipped" "$results/cuda_tests.log" | head -40

log "benchmark: qlinear, cuBLAS, copy"
bench_rc=0
env -u QLINEAR_GGML_CUDA "$build/bench/cuda_bench" --benchmark_min_time="$min_time" \
  --benchmark_out="$results/bench.json" --benchmark_out_format=json >"$results/bench.log" 2>&1 || bench_rc=1
tail -5 "$results/bench.log"

log "benchmark: ggml's CUDA backend"
ggml_lib=${QLINEAR_GGML_CUDA:-}
pkg=$build/../ggml-cuda
if [ -z "$ggml_lib" ] && [ -f "$pkg/package/bins/linux-x64-cuda/libggml-cuda.so" ]; then
  ggml_lib=$pkg/package/bins/linux-x64-cuda/libggml-cuda.so
fi
if [ -z "$ggml_lib" ] && command -v npm >/dev/null; then
  mkdir -p "$pkg"
  if (cd "$pkg" && timeout 180 npm pack --silent @node-llama-cpp/linux-x64-cuda@3.22.1 >/dev/null 2>&1 &&
    tar xzf node-llama-cpp-linux-x64-cuda-3.22.1.tgz); then
    ggml_lib=$pkg/package/bins/linux-x64-cuda/libggml-cuda.so
  else
    echo "ggml peer: npm pack @node-llama-cpp/linux-x64-cuda failed (no network?)"
  fi
fi
if [ -n "$ggml_lib" ] && [ -f "$ggml_lib" ]; then
  # Its sm_90 code is PTX (compiled for 75/80/86/89/120): the driver JIT-compiles it on first
  # use, so give the JIT cache room and the run a time limit.
  export CUDA_CACHE_MAXSIZE=4294967296
  QLINEAR_GGML_CUDA=$(cd "$(dirname "$ggml_lib")" && pwd)/$(basename "$ggml_lib") timeout 240 \
    "$build/bench/cuda_bench" --benchmark_filter=/ggml/ --benchmark_min_time="$min_time" \
    --benchmark_out="$results/bench_ggml.json" --benchmark_out_format=json >"$results/bench_ggml.log" 2>&1 ||
    echo "ggml peer: run failed or timed out (see bench_ggml.log)"
  tail -3 "$results/bench_ggml.log"
else
  echo "ggml peer: libggml-cuda.so not available; skipped"
fi

log "summary"
python3 - "$results" <<'EOF' || echo "(python3 missing: see $results/bench.json)"
import json, os, re, sys
res = sys.argv[1]
rows = {}
for f in ("bench.json", "bench_ggml.json"):
    p = os.path.join(res, f)
    if not os.path.exists(p):
        continue
    for b in json.load(open(p)).get("benchmarks", []):
        m = re.match(r"([^/]+)/([^/]+)/M:(\d+)/N:(\d+)/K:(\d+)", b["name"])
        if m and "error_occurred" not in b:
            rows[(m[1], m[2], int(m[3]), int(m[4]), int(m[5]))] = b
def get(s, impl, m, n=4096, k=4096, key="GB/s"):
    b = rows.get((s, impl, m, n, k))
    return b.get(key) if b else None
fmt = lambda v, d=0: "-" if v is None else f"{v:.{d}f}"
ratio = lambda a, b: "-" if a is None or b in (None, 0) else f"{a / b:.2f}"
schemes = sorted({k[0] for k in rows if k[1] == "qlinear"})
print(f"N=K=4096. M=1: weights GB/s vs device copy (read+write GB/s); M=128: GFLOP/s vs ggml and cuBLAS f16")
print(f"{'scheme':18} {'M1 GB/s':>8} {'copy':>7} {'ratio':>6} | {'M128 GF/s':>9} {'ggml':>7} {'x ggml':>6} {'cublas':>7} {'x cublas':>8} | {'gemv>mma up to M':>16}")
cub = get("f16", "cublas", 128, key="GFLOP/s")
for s in schemes:
    m1, cp = get(s, "qlinear", 1), get(s, "copy", 1)
    q128, g128 = get(s, "qlinear", 128, key="GFLOP/s"), get(s, "ggml", 128, key="GFLOP/s")
    cross = [m for m in (1, 2, 4, 8, 16, 32) if get(s, "qlinear_gemv", m, key="GFLOP/s") and
             get(s, "qlinear_mma", m, key="GFLOP/s") and get(s, "qlinear_gemv", m, key="GFLOP/s") >= get(s, "qlinear_mma", m, key="GFLOP/s")]
    print(f"{s:18} {fmt(m1):>8} {fmt(cp):>7} {ratio(m1, cp):>6} | {fmt(q128):>9} {fmt(g128):>7} {ratio(q128, g128):>6} {fmt(cub):>7} {ratio(q128, cub):>8} | {fmt(max(cross) if cross else None):>16}")
EOF
log "done: tests $([ $tests_rc -eq 0 ] && echo passed || echo FAILED), benchmark $([ $bench_rc -eq 0 ] && echo ran || echo FAILED); results in $results"
exit $((tests_rc | bench_rc))
