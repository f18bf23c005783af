#!/usr/bin/env bash
# Installs every Debian package Headwater, its tests and its benchmarks need. Idempotent: re-running it
# installs only what is missing. The DNS servers used as test peers (knot, bind9, nsd) and the validating
# resolver (unbound) must never be left running on port 53, so their init scripts are blocked while
# installing, and those this run installed are stopped afterwards. When nothing is missing it changes
# nothing (and stops nothing: a running test's peers are safe).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git clang-format clang-tidy
  libboost1.81-dev libssl-dev libldns-dev libtomlplusplus-dev libspdlog-dev libfmt-dev
  libcli11-dev nlohmann-json3-dev googletest libgtest-dev libgmock-dev
  # zone/ZoneFileIndex.cpp: a fast hash of master-file parts (a reload parses only the parts that changed).
  libxxhash-dev
  knot knot-dnsutils knot-dnssecutils bind9 bind9-dnsutils nsd ldnsutils python3-dnspython iproute2 procps dnsperf
  # tests/system/test_dnssec_answers.py: a validating resolver that checks Headwater's DNSSEC answers.
  unbound
  # Zone transfers over TLS (tests/lib/hwtls.py, bench/run.py): throw-away certificates; openssl s_client.
  python3-cryptography openssl
  # tests/interop/test_acme.py: an ACME DNS-01 issuance on loopback (pebble, the ACME test CA; lego with
  # its rfc2136 provider writing the challenge to Headwater).
  pebble lego
  # tools/fuzz.sh: clang++, libFuzzer and clang's sanitizer runtimes; llvm-symbolizer for sanitizer traces.
  clang libclang-rt-14-dev llvm
  # tests/interop/test_metrics.py: a real Prometheus scraping Headwater; promtool checks the output and
  # the example alerting rules.
  prometheus
)
# tools/build-deb.sh: the Debian package (DEB=1: only when asked; pandoc is large).
if [ "${DEB:-0}" = 1 ]; then
  PACKAGES+=(debhelper pandoc lintian fakeroot)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

echo "setup-deps: installing ${missing[*]}"
# policy-rc.d answering 101 stops Debian maintainer scripts from starting the packaged daemons.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  created_policy=1
fi
cleanup() { [ "$created_policy" -eq 1 ] && $SUDO rm -f "$policy"; return 0; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

# Belt and braces: whatever a package installed just now started anyway, stop it and keep it from
# starting at boot. Only those: a daemon that was installed before may be a test's peer running now.
stop_daemon() {  # binary, then its systemd units
  local bin=$1
  shift
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    for svc in "$@"; do
      $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
    done
  fi
  $SUDO pkill -x "$bin" >/dev/null 2>&1 || true
}
for p in "${missing[@]}"; do
  case "$p" in
    knot) stop_daemon knotd knot ;;
    bind9) stop_daemon named named bind9 ;;
    nsd) stop_daemon nsd nsd ;;
    unbound) stop_daemon unbound unbound unbound-resolvconf ;;
    prometheus) stop_daemon prometheus prometheus ;;
  esac
done
echo "setup-deps: done"
