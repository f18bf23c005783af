#!/usr/bin/env bash
# Quick start, step 2: install what is needed, build with warnings as errors, check formatting and lint,
# and run the whole test suite (unit tests, system tests against the real binary, interop tests with
# real Knot, BIND and NSD secondaries) through ctest. Then the hardening runs: the same suite built with
# ASan+UBSan (tools/test-sanitizers.sh, build-asan) and every libFuzzer target for FUZZ_SECONDS each
# (tools/fuzz.sh, build-fuzz; default 30). SKIP_HARDENING=1 stops after the normal suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup-deps.sh
export BUILD_DIR=${BUILD_DIR:-build-test}
bash tools/build.sh -DHEADWATER_WERROR=ON
bash tools/check-style.sh "$BUILD_DIR"
(cd "$BUILD_DIR" && ctest --output-on-failure --timeout 600 -j "${JOBS:-2}")

if [ "${SKIP_HARDENING:-0}" != 1 ]; then
  bash tools/test-sanitizers.sh
  bash tools/fuzz.sh "${FUZZ_SECONDS:-30}"
fi
