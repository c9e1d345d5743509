#!/usr/bin/env bash
# Installs what qlinear's build, tests and demo need on Debian/Ubuntu, skipping what is present.
# Usage: scripts/install_deps.sh [extra-package ...]
set -euo pipefail
packages=(cmake ninja-build g++ libeigen3-dev libgtest-dev libbenchmark-dev nlohmann-json3-dev "$@")
missing=()
for p in "${packages[@]}"; do
  # Node.js from another source (NodeSource) conflicts with Debian's npm package: a working
  # command on PATH counts as installed.
  case $p in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
