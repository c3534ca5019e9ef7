#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL 15 for tests, the quick-start and benchmarks.
#   tools/pg-sandbox.sh start DIR   initdb + start on 127.0.0.1:<free port>, socket in DIR,
#                                   roles app / md5user / scramuser, database app; writes DIR/env
#   tools/pg-sandbox.sh stop DIR    stops it and removes DIR
# PostgreSQL refuses to run as root, so the cluster belongs to the OS user `postgres`.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
RUN_AS=postgres

die() { echo "pg-sandbox: $*" >&2; exit 1; }

as_pg() {
  if [ "$(id -un)" = "$RUN_AS" ]; then "$@"; else runuser -u "$RUN_AS" -- "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start() {
  local dir=$1
  [ -x "$PGBIN/initdb" ] || die "PostgreSQL 15 binaries not found in $PGBIN (apt-get install postgresql-15)"
  if [ -f "$dir/env" ]; then
    # shellcheck disable=SC1091
    . "$dir/env"
    if kill -0 "$PG_SANDBOX_PID" 2>/dev/null; then return 0; fi
    rm -rf "$dir"
  fi
  id -u "$RUN_AS" >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash "$RUN_AS"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  chown "$RUN_AS" "$dir"
  chmod 0755 "$dir"
  # Every parent must be traversable by the postgres user (mktemp dirs are 0700).
  local parent=$dir
  while [ "$parent" != "/" ]; do parent=$(dirname "$parent"); chmod o+x "$parent" 2>/dev/null || true; done
  local data=$dir/data
  as_pg "$PGBIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  cat >"$data/pg_hba.conf" <<HBA
local all all trust
host all postgres 127.0.0.1/32 trust
host all md5user 127.0.0.1/32 md5
host all all 127.0.0.1/32 scram-sha-256
HBA
  local port attempt
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if as_pg "$PGBIN/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 30 start \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
        >/dev/null 2>&1; then
      break
    fi
    port=""
  done
  [ -n "$port" ] || { tail -20 "$dir/postgres.log" >&2; die "could not start PostgreSQL"; }
  local psql=(as_pg "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres)
  "${psql[@]}" <<'SQL' >/dev/null
SET password_encryption = 'scram-sha-256';
CREATE ROLE app LOGIN PASSWORD 'app-secret';
CREATE ROLE scramuser LOGIN PASSWORD 'scram-secret';
SET password_encryption = 'md5';
CREATE ROLE md5user LOGIN PASSWORD 'md5-secret';
CREATE DATABASE app OWNER app;
GRANT CONNECT, TEMPORARY ON DATABASE app TO md5user, scramuser;
SQL
  "${psql[@]}" -d app -c "GRANT ALL ON SCHEMA public TO md5user, scramuser" >/dev/null
  cat >"$dir/env" <<ENV
PG_SANDBOX_PORT=$port
PG_SANDBOX_HOST=127.0.0.1
PG_SANDBOX_SOCKET_DIR=$dir
PG_SANDBOX_DATA=$data
PG_SANDBOX_PID=$(head -1 "$data/postmaster.pid")
ENV
  chmod 0644 "$dir/env"
}

stop() {
  local dir=$1
  [ -d "$dir" ] || return 0
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) [ -n "${2:-}" ] || die "usage: $0 start DIR"; start "$2" ;;
  stop) [ -n "${2:-}" ] || die "usage: $0 stop DIR"; stop "$2" ;;
  *) die "usage: $0 start|stop DIR" ;;
esac
