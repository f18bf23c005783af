#!/usr/bin/env bash
# Builds everything with GCC's AddressSanitizer (+ LeakSanitizer) and UndefinedBehaviorSanitizer into
# build-asan (-DHEADWATER_SANITIZE=ON) and runs the whole ctest suite there: unit tests, the system tests
# against the sanitized headwater binary, and the interop tests with Knot, BIND and NSD.
#
# Any sanitizer report fails: the options below make ASan/UBSan abort the process, and the python harness
# (tests/lib/hwproc.py, check_sanitizer_log) fails a test whose server log holds a report.
#
# Usage: tools/test-sanitizers.sh [extra ctest arguments, e.g. -R system]
# Environment: ASAN_BUILD_DIR (default build-asan), JOBS (build and ctest parallelism, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}

GEN=()
command -v ninja >/dev/null 2>&1 && GEN=(-G Ninja)
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" "${GEN[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=g++ \
    -DHEADWATER_SANITIZE=ON
fi
start=$(date +%s)
cmake --build "$BUILD_DIR" -j "${JOBS:-2}"
echo "test-sanitizers: build took $(( $(date +%s) - start ))s"

# Inherited by ctest, the test binaries, the python harness and the servers it starts.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

start=$(date +%s)
cd "$BUILD_DIR"
status=0
ctest --output-on-failure --timeout 900 -j "${JOBS:-2}" "$@" || status=$?
echo "test-sanitizers: ctest took $(( $(date +%s) - start ))s"
exit $status
