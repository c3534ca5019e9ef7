#!/usr/bin/env bash
# Fetches PgBouncer from Debian 13 (trixie) for benchmarks on Debian 12, whose own package is
# PgBouncer 1.18: too old to keep prepared statements in transaction pooling (1.21+), so the
# `-M prepared` workloads could not be compared. The package and the libraries it loads are
# downloaded with a private apt configuration (the system's sources and packages stay as they
# are) and unpacked into DIR; DIR/pgbouncer runs it with Debian 13's own loader and libraries.
# Prints the path of that wrapper.
#   tools/pgbouncer-debian13.sh [DIR]     default /var/cache/apibouncer/pgbouncer-debian13
set -euo pipefail

DIR=${1:-/var/cache/apibouncer/pgbouncer-debian13}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)  # the wrapper must work from any directory
WRAPPER=$DIR/pgbouncer
if [ -x "$WRAPPER" ] && "$WRAPPER" --version >/dev/null 2>&1; then
  echo "$WRAPPER"
  exit 0
fi

# The binary and what `ld.so --list` shows it loading (libc6 brings the loader itself).
PACKAGES=(pgbouncer libc6 libcares2 libevent-2.1-7t64 libssl3t64 libsystemd0 libpam0g zlib1g
  libzstd1 libcap2 libaudit1 libcap-ng0)

APT_DIR=$(mktemp -d)
trap 'rm -rf "$APT_DIR"' EXIT
mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$APT_DIR/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
  >"$APT_DIR/sources.list"
APT_OPTIONS=(-o "Dir::Etc::SourceList=$APT_DIR/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$APT_DIR/lists" -o "Dir::Cache=$APT_DIR/cache")
apt-get "${APT_OPTIONS[@]}" update >&2
(cd "$APT_DIR/debs" && apt-get "${APT_OPTIONS[@]}" download "${PACKAGES[@]/%//trixie}" >&2)
rm -rf "$DIR/root"
for deb in "$APT_DIR"/debs/*.deb; do dpkg-deb -x "$deb" "$DIR/root"; done

# The loader sits in the multiarch directory (x86_64-linux-gnu, aarch64-linux-gnu, ...).
LOADER=$(find "$DIR/root/usr/lib" -maxdepth 2 -name 'ld-linux*.so.*' | head -1)
[ -n "$LOADER" ] || { echo "pgbouncer-debian13: no loader in Debian 13's libc6" >&2; exit 1; }
LIBS=$(dirname "$LOADER")
# Checked before the wrapper exists, so a failed fetch leaves no wrapper that cannot start.
if "$LOADER" --library-path "$LIBS" --list "$DIR/root/usr/sbin/pgbouncer" | grep -q 'not found'; then
  echo "pgbouncer-debian13: a library PgBouncer needs is missing from $DIR/root" >&2
  exit 1
fi
cat >"$WRAPPER" <<SH
#!/bin/sh
# PgBouncer from Debian 13 with Debian 13's loader and libraries (tools/pgbouncer-debian13.sh).
exec "$LOADER" --library-path "$LIBS" "$DIR/root/usr/sbin/pgbouncer" "\$@"
SH
chmod 755 "$WRAPPER"
# The benchmark runs it as user postgres.
chmod -R o+rX "$DIR"
"$WRAPPER" --version >&2
echo "$WRAPPER"
