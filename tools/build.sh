#!/usr/bin/env bash
# Configures and builds Headwater into ./build (or $BUILD_DIR). Extra arguments go to cmake's configure.
# TARGETS="headwater headwaterctl" builds only those targets (and what they need); every target when unset.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
GEN=()
command -v ninja >/dev/null 2>&1 && GEN=(-G Ninja)
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" "${GEN[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
elif [ $# -gt 0 ]; then
  cmake -S . -B "$BUILD_DIR" "$@"
fi
TARGET_ARGS=()
if [ -n "${TARGETS:-}" ]; then
  read -r -a names <<<"$TARGETS"
  TARGET_ARGS=(--target "${names[@]}")
fi
# The machine has 2 cores; more jobs only add memory pressure.
cmake --build "$BUILD_DIR" -j "${JOBS:-2}" "${TARGET_ARGS[@]}"
