#!/usr/bin/env bash
# Checks the Debian package from tools/build-deb.sh on a fresh Debian 12: builds a minimal bookworm
# chroot with mmdebstrap (or reuses CHROOT=dir), then inside it:
#   apt-get install ./headwater_*.deb          the package and its dependencies install
#   headwater --check-config /etc/headwater/headwater.toml passes on the installed config
#   headwater serves a zone as the headwater user for a moment (a journal appears in /var/lib/headwater)
#   apt-get remove headwater                   the config and the state are still there
# Needs root, mmdebstrap and Debian's mirror. Usage: tools/test-deb.sh [build-deb/headwater_<v>_amd64.deb]
set -euo pipefail
cd "$(dirname "$0")/.."
deb=${1:-$(ls build-deb/headwater_*_amd64.deb | tail -1)}
chroot_dir=${CHROOT:-}
if [ -z "$chroot_dir" ]; then
  chroot_dir=$(mktemp -d /tmp/headwater-chroot.XXXXXX)
  trap 'umount "$chroot_dir/proc" 2>/dev/null || true; rm -rf "$chroot_dir"' EXIT
  mmdebstrap --variant=apt bookworm "$chroot_dir"
fi
mountpoint -q "$chroot_dir/proc" || mount -t proc proc "$chroot_dir/proc"
cp "$deb" "$chroot_dir/tmp/headwater.deb"
in_chroot() { chroot "$chroot_dir" /usr/bin/env DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
fail() { echo "test-deb: FAILED: $*" >&2; exit 1; }

in_chroot apt-get update -qq
in_chroot apt-get install -y -qq /tmp/headwater.deb
in_chroot headwater --check-config /etc/headwater/headwater.toml || fail "--check-config on the installed config"
in_chroot getent passwd headwater >/dev/null || fail "no headwater user"
[ "$(in_chroot stat -c '%U:%G %a' /etc/headwater/headwater.toml)" = "root:headwater 640" ] \
  || fail "/etc/headwater/headwater.toml is $(in_chroot stat -c '%U:%G %a' /etc/headwater/headwater.toml)"
in_chroot dpkg-query -W -f='${Conffiles}\n' headwater | grep -q /etc/headwater/headwater.toml \
  || fail "/etc/headwater/headwater.toml is not a conffile"
for page in headwater.8 headwaterctl.8 headwater.toml.5; do
  in_chroot dpkg -L headwater | grep -q "/$page.gz" || fail "no man page $page"
done

# Serve a zone for a moment, as the unit would (User=headwater), on a high port.
cat >"$chroot_dir/etc/headwater/zones/example.test.zone" <<'ZONE'
$ORIGIN example.test.
@ 3600 IN SOA ns1 hostmaster 1 3600 900 1209600 300
@ 3600 IN NS ns1
ns1 3600 IN A 192.0.2.1
ZONE
cat >>"$chroot_dir/etc/headwater/headwater.toml" <<'CONF'

[[zone]]
name = "example.test"
file = "zones/example.test.zone"
CONF
sed -i 's|^listen = .*|listen = ["127.0.0.1:53530"]|; s|^control_socket = .*|control_socket = "/var/lib/headwater/hw.sock"|' \
  "$chroot_dir/etc/headwater/headwater.toml"
in_chroot headwater --check-config /etc/headwater/headwater.toml || fail "--check-config with a zone"
in_chroot setpriv --reuid=headwater --regid=headwater --init-groups \
  timeout -s TERM 3 headwater --config /etc/headwater/headwater.toml || true
in_chroot find /var/lib/headwater/zones -name '*.journal' | grep -q . || fail "the server wrote no journal"

in_chroot apt-get remove -y -qq headwater
[ -f "$chroot_dir/etc/headwater/headwater.toml" ] || fail "remove deleted the config"
in_chroot find /var/lib/headwater/zones -name '*.journal' | grep -q . || fail "remove deleted the state"
in_chroot dpkg-query -W -f='${Status}\n' headwater | grep -q "deinstall ok config-files" \
  || fail "package state after remove: $(in_chroot dpkg-query -W -f='${Status}' headwater)"
echo "test-deb: ok ($deb)"
