#!/usr/bin/env bash
# Fails when a C++ file is not formatted with .clang-format, when clang-tidy (.clang-tidy) reports
# anything, or when a module includes a folder it must not (docs/architecture.md, dependency direction).
# Usage: tools/check-style.sh BUILD_DIR (for compile_commands.json).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
mapfile -t files < <(git ls-files '*.cpp' '*.h')

echo "check-style: clang-format on ${#files[@]} files"
clang-format --dry-run --Werror "${files[@]}"

echo "check-style: include direction"
# docs/architecture.md: zone/base <- zone/dns <- zone, tsig, conf <- zone/answer <- zone/sign, xfr <- xfr/verify
# <- server;
# tools -> conf, zone and the control protocol.
fail=0
forbid() {  # folder (its files, not its subfolders'), forbidden include prefixes...
  local dir=$1; shift
  for bad in "$@"; do
    if grep -nE "#include [\"<]$bad" "$dir"/*.h "$dir"/*.cpp 2>/dev/null; then
      echo "  $dir must not include $bad"; fail=1
    fi
  done
}
forbid zone/base zone/dns/ 'zone/[A-Z]' zone/answer/ xfr tsig conf server tools
forbid zone/dns 'zone/[A-Z]' zone/answer/ xfr tsig conf server tools
forbid zone zone/answer/ zone/sign/ xfr tsig conf server tools
forbid zone/answer zone/sign/ xfr tsig conf server tools
forbid zone/sign xfr tsig conf server tools
forbid tsig zone/answer/ xfr conf server tools
forbid conf zone/answer/ xfr tsig server tools
forbid xfr zone/sign/ conf server tools
forbid xfr/verify zone/answer/ 'xfr/[A-Z]' tsig conf server tools
grep -rlnE --include='*.h' --include='*.cpp' 'boost/(asio|beast)' zone tsig conf xfr tools \
  && { echo "  only server/ may use Asio and Beast"; fail=1; }
grep -rln '<ldns/' --include='*.cpp' --include='*.h' . | grep -v '^./zone/MasterFile.cpp$' | grep -v '^./build' | grep -v '^./tests/' \
  && { echo "  only zone/MasterFile.cpp may use ldns"; fail=1; }
[ $fail -eq 0 ] || exit 1

echo "check-style: clang-tidy"
mapfile -t sources < <(git ls-files 'zone/*.cpp' 'tsig/*.cpp' 'conf/*.cpp' 'xfr/*.cpp' 'server/*.cpp' 'tools/*.cpp')
printf '%s\n' "${sources[@]}" | xargs -P "${JOBS:-2}" -n 4 clang-tidy -p "$BUILD_DIR" --quiet 2>/dev/null
echo "check-style: ok"
