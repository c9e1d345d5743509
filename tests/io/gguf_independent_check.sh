#!/usr/bin/env bash
# Checks qlinear's GGUF reader and writer against an independent parser, the npm package
# @huggingface/gguf: the shared sample files, and files qlinear's writer made (v2 and v3).
# Exits 77 (ctest: skipped), saying why, when node, npm or the package is unavailable.
# Usage: gguf_independent_check.sh IO_GGUF_DUMP WORK_DIR SAMPLES_DIR
set -uo pipefail
dump=$1 work=$2 samples=$3
here=$(cd "$(dirname "$0")" && pwd)
package=@huggingface/gguf@0.4.6
if ! command -v node >/dev/null; then echo "SKIP: node is not on PATH, so there is no independent GGUF reader to check against"; exit 77; fi
mkdir -p "$work"
if [ ! -f "$work/node_modules/@huggingface/gguf/package.json" ]; then
  if ! command -v npm >/dev/null; then echo "SKIP: npm is not on PATH, so $package cannot be installed"; exit 77; fi
  if ! timeout 300 npm install --prefix "$work" --no-audit --no-fund --loglevel=error "$package" >"$work/npm.log" 2>&1; then
    echo "SKIP: npm could not install $package (is the registry reachable?):"; tail -5 "$work/npm.log"; exit 77
  fi
fi
"$dump" --write "$work/written-v3.gguf" 3 || exit 1
"$dump" --write "$work/written-v2.gguf" 2 || exit 1
files=("$work/written-v3.gguf" "$work/written-v2.gguf")
for f in "$samples"/*.gguf; do [ -f "$f" ] && files+=("$f"); done
node "$here/gguf_independent_check.js" "$work" "$dump" "${files[@]}"
