#!/usr/bin/env bash
# Fetches upstream ggml's prebuilt CPU libraries for the ggml benchmark peer, from the npm package
# @node-llama-cpp/linux-x64 (llama.cpp's own release binaries repackaged; no headers, no build).
# Usage: bench/peers/fetch_ggml.sh [destination]
#   destination defaults to $QLINEAR_CACHE_DIR/ggml or, without it, <repo>/build/_peers/ggml.
# The libraries end up in <destination>/node-llama-cpp-linux-x64-<version>/package/bins/linux-x64/,
# which is where CMake's QLINEAR_GGML_DIR looks by default. Running it again reuses what is there.
set -euo pipefail
version=${QLINEAR_GGML_NPM_VERSION:-3.22.1}
package=@node-llama-cpp/linux-x64@$version
repo=$(cd "$(dirname "$0")/../.." && pwd)
dest=${1:-${QLINEAR_CACHE_DIR:+$QLINEAR_CACHE_DIR/ggml}}
dest=${dest:-$repo/build/_peers/ggml}
unpacked=$dest/node-llama-cpp-linux-x64-$version
libs=$unpacked/package/bins/linux-x64

if [ -f "$libs/libggml-base.so" ]; then
  echo "ggml peer already in $libs"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "fetch_ggml.sh: npm is missing (apt-get install npm, or Node.js from elsewhere)" >&2
  exit 1
fi
mkdir -p "$unpacked"
tarball=$(cd "$dest" && npm pack --silent "$package" | tail -n 1)
tar -xzf "$dest/$tarball" -C "$unpacked"
rm -f "$dest/$tarball"
if [ ! -f "$libs/libggml-base.so" ]; then
  echo "fetch_ggml.sh: $package did not contain bins/linux-x64/libggml-base.so" >&2
  exit 1
fi
echo "ggml peer in $libs"
echo "llama.cpp build: $(cat "$libs/_nlcBuildMetadata.json" 2>/dev/null || echo unknown)"
