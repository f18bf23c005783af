#!/usr/bin/env bash
# Fails when a C++ file is not formatted with .clang-format, when clang-tidy (.clang-tidy) reports
# anything, or when a module includes a folder it must not (docs/architecture.md, dependency rule).
# Usage: tools/check-style.sh BUILD_DIR (for compile_commands.json).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
mapfile -t files < <(git ls-files '*.cpp' '*.h')

echo "check-style: clang-format on ${#files[@]} files"
clang-format --dry-run --Werror "${files[@]}"

echo "check-style: include direction"
fail=0
check_dir() {  # folder, forbidden include prefixes...
  local dir=$1; shift
  for bad in "$@"; do
    if grep -rnE "#include [\"<]$bad/" "$dir" --include='*.h' --include='*.cpp' | grep -v "^$dir/dns/" ; then
      echo "  $dir must not include $bad/"; fail=1
    fi
  done
}
grep -rnE '#include ["<](zone/[A-Z]|xfr|tsig|conf|server|tools)/' zone/dns && { echo "  zone/dns is a leaf"; fail=1; }
check_dir zone xfr tsig conf server tools
check_dir tsig xfr conf server tools
check_dir conf xfr tsig server tools
check_dir xfr conf server tools
grep -rln --include='*.h' --include='*.cpp' 'boost/asio' zone tsig conf xfr tools && { echo "  only server/ may use Asio"; fail=1; }
grep -rln '<ldns/' --include='*.cpp' --include='*.h' . | grep -v '^./zone/MasterFile.cpp$' | grep -v '^./build' | grep -v '^./tests/' \
  && { echo "  only zone/MasterFile.cpp may use ldns"; fail=1; }
[ $fail -eq 0 ] || exit 1

echo "check-style: clang-tidy"
mapfile -t sources < <(git ls-files 'zone/*.cpp' 'tsig/*.cpp' 'conf/*.cpp' 'xfr/*.cpp' 'server/*.cpp' 'tools/*.cpp')
printf '%s\n' "${sources[@]}" | xargs -P "${JOBS:-2}" -n 4 clang-tidy -p "$BUILD_DIR" --quiet 2>/dev/null
echo "check-style: ok"
