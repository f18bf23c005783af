#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang++ (ASan + UBSan) into build-fuzz, runs each one
# over its committed seed corpus and regression inputs (the "fuzz" ctest label), then fuzzes each target
# for a bounded time, one after another. Fails if any target crashes, leaks, hangs or breaks an invariant.
#
# Usage: tools/fuzz.sh [SECONDS_PER_TARGET]   (default: $FUZZ_SECONDS, else 60)
# Environment: FUZZ_BUILD_DIR (default build-fuzz), FUZZ_TARGETS (default: all four), JOBS (build jobs).
#
# The committed corpus is never written: each target fuzzes a copy in $FUZZ_BUILD_DIR/fuzz-corpus/.
# Crash inputs land in $FUZZ_BUILD_DIR/crashes/<target>-crash-<sha1> (reproduce: run the target binary
# with the file as its argument); the full output of each run is in $FUZZ_BUILD_DIR/fuzz-logs/.
# A fixed crash's input belongs in tests/fuzz/regressions/<target>/ (see tests/fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-${FUZZ_SECONDS:-60}}
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
read -r -a TARGETS <<<"${FUZZ_TARGETS:-fuzz_message fuzz_tsig fuzz_ixfr fuzz_master_file}"

if ! [[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]]; then
  echo "usage: tools/fuzz.sh [SECONDS_PER_TARGET]" >&2
  exit 2
fi
command -v clang++ >/dev/null || { echo "fuzz: clang++ not installed (tools/setup-deps.sh)" >&2; exit 1; }

GEN=()
command -v ninja >/dev/null 2>&1 && GEN=(-G Ninja)
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  CXX=clang++ cmake -S . -B "$BUILD_DIR" "${GEN[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DHEADWATER_FUZZ=ON -DHEADWATER_WERROR=ON
fi
cmake --build "$BUILD_DIR" -j "${JOBS:-2}" --target "${TARGETS[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# 1. Every committed seed and regression input, once (fast).
target_regex=$(IFS='|'; echo "${TARGETS[*]}")
(cd "$BUILD_DIR" && ctest -L fuzz -R "fuzz\.(${target_regex})\." --output-on-failure)

# 2. Fuzzing, one target at a time (the machine has 2 cores shared with the rest of CI).
crashes="$BUILD_DIR/crashes"
logs="$BUILD_DIR/fuzz-logs"
mkdir -p "$crashes" "$logs"
failed=()
for t in "${TARGETS[@]}"; do
  work="$BUILD_DIR/fuzz-corpus/$t"
  rm -rf "$work"
  mkdir -p "$work"
  cp tests/fuzz/corpus/"$t"/* "$work"/
  if compgen -G "tests/fuzz/regressions/$t/*" >/dev/null; then
    cp tests/fuzz/regressions/"$t"/* "$work"/
  fi
  args=(-max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=25 -print_final_stats=1
        -artifact_prefix="$crashes/$t-")
  [ -f "tests/fuzz/$t.dict" ] && args+=(-dict="tests/fuzz/$t.dict")
  echo "fuzz: $t for ${SECONDS_PER_TARGET}s"
  start=$(date +%s)
  if "$BUILD_DIR/tests/fuzz/$t" "${args[@]}" "$work" >"$logs/$t.log" 2>&1; then
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|cov: ' "$logs/$t.log" | tail -3 | sed 's/^/  /'
    echo "fuzz: $t ok ($(( $(date +%s) - start ))s, corpus $(ls "$work" | wc -l) inputs)"
  else
    echo "fuzz: $t FAILED; last lines of $logs/$t.log:"
    tail -60 "$logs/$t.log" | sed 's/^/  /'
    failed+=("$t")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}; crash inputs in $crashes/:"
  ls -l "$crashes"
  exit 1
fi
echo "fuzz: all ${#TARGETS[@]} targets ran ${SECONDS_PER_TARGET}s each without a crash"
