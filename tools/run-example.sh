#!/usr/bin/env bash
# Quick start, step 1: install what is needed, build the server and its control client (nothing else:
# tools/test.sh builds the tests), and run Headwater in the foreground on the bundled example
# (examples/headwater.toml: example.com on 127.0.0.1:5353 and [::1]:5353). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup-deps.sh
BUILD_DIR=build TARGETS="headwater headwaterctl" bash tools/build.sh
cat <<TXT

Headwater is starting on 127.0.0.1:5353 and [::1]:5353 with examples/headwater.toml. In another terminal:
  dig  @127.0.0.1 -p 5353 example.com SOA +norecurse
  kdig @127.0.0.1 -p 5353 example.com AXFR
  ./build/tools/headwaterctl --config examples/headwater.toml status
  (edit examples/zones/example.com.zone, raise the serial, then)
  ./build/tools/headwaterctl --config examples/headwater.toml reload
Ctrl-C stops the server.

TXT
exec ./build/server/headwater --config examples/headwater.toml
