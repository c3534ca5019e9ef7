#!/usr/bin/env bash
# Installs the Debian 12 packages apibouncer needs to build, test and benchmark — only the
# ones that are missing, so it is quick on a machine that already has them.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config       # compiler and build
  clang libclang-rt-14-dev clang-format  # libFuzzer target, formatting
  libuv1-dev                             # event loop
  libssl-dev                             # SCRAM, md5, TLS
  libinih-dev                            # ini parsing
  libpq-dev                              # tests and tools talk to PostgreSQL through libpq
  libpg-query-dev libprotobuf-c-dev      # SQL parser (interceptor)
  libcurl4-openssl-dev rapidjson-dev     # HTTP and JSON (adapters)
  libcpp-httplib-dev                     # fake API test server
  catch2                                 # unit and integration tests
  postgresql-15 postgresql-client-15     # test database, psql, pgbench
  pgbouncer                              # benchmark comparison
  python3-asyncpg python3-psycopg        # client drivers the transaction-pooling tests use
  libpostgresql-jdbc-java                # pgjdbc, likewise
  python3 procps iproute2                # scripts (free ports, process checks)
  openssl                                # the TLS tests make their CA and certificates
)

# pgjdbc's test runs a Java source file: any JDK 11+ will do, Debian's default if none.
command -v javac >/dev/null || PACKAGES+=(default-jdk-headless)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian package starts a cluster of its own; tests and the quick-start use throwaway ones.
