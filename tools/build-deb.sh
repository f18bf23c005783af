#!/usr/bin/env bash
# Builds the Debian package headwater_<version>_<arch>.deb (server, headwaterctl, systemd unit, the
# headwater system user, /etc/headwater/headwater.toml as a conffile, man pages made with pandoc) with
# dpkg-buildpackage, then runs lintian on it. The packaging lives in tools/debian/ so the top level of
# the tree stays as it is: this script copies the tree (tracked and new files, as `git ls-files` lists
# them) to a scratch directory, puts tools/debian there as debian/, writes debian/changelog for the
# version in CMakeLists.txt, and builds there. The .deb lands in $OUT_DIR (default build-deb/).
#
# Needs: tools/setup-deps.sh's packages plus debhelper, pandoc and lintian (DEB=1 tools/setup-deps.sh).
# JOBS=N sets the build's parallelism (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${OUT_DIR:-build-deb}
version=$(sed -n 's/^project(headwater VERSION \([0-9][0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$version" ] || { echo "build-deb: no version in CMakeLists.txt's project()" >&2; exit 1; }
for tool in dpkg-buildpackage dh pandoc lintian; do
  command -v "$tool" >/dev/null || { echo "build-deb: $tool is missing (DEB=1 tools/setup-deps.sh)" >&2; exit 1; }
done

stage=$(mktemp -d /tmp/headwater-deb.XXXXXX)
trap 'rm -rf "$stage"' EXIT
src="$stage/headwater-$version"
mkdir -p "$src"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"
done | tar --null -T - -cf - | tar -xf - -C "$src"
cp -r tools/debian "$src/debian"
described=$(git describe --always --dirty 2>/dev/null || echo "a source tree")
cat >"$src/debian/changelog" <<CHANGELOG
headwater ($version) unstable; urgency=medium

  * Package built from $described.

 -- Headwater maintainers <headwater@localhost>  $(date -R)
CHANGELOG

(cd "$src" && DEB_BUILD_OPTIONS="parallel=${JOBS:-2} ${DEB_BUILD_OPTIONS:-}" dpkg-buildpackage -b -us -uc)
mkdir -p "$OUT_DIR"
for f in "$stage"/*.deb "$stage"/*.ddeb "$stage"/*.buildinfo "$stage"/*.changes; do
  [ -e "$f" ] && mv "$f" "$OUT_DIR"/
done
deb=$(ls "$OUT_DIR"/headwater_"$version"_*.deb)
echo "build-deb: $deb"
# The tags we accept are overridden, each with its reason, in tools/debian/headwater.lintian-overrides;
# any other error or warning fails the build.
lintian --fail-on error,warning "$deb"
