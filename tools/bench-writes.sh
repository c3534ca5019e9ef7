#!/usr/bin/env bash
# Benchmarks the write-through: what apibouncer adds on top of the API's own latency for
# INSERTs on a synced table, and what configuring interception costs reads.
#
#   1. writes: the fake API answers after --api-latency-ms; --clients pgbench clients INSERT
#      one row per statement into a synced table through apibouncer (transaction pooling) for
#      --duration seconds; per-statement p50/p99 from pgbench's per-transaction log, minus the
#      API latency, and writes/s. Simple protocol, then extended.
#   2. reads: pgbench -S -M simple -c 10 -j 2 through two apibouncers on the same database,
#      (a) without any [apibouncer]/[api]/[table] section and (b) with them, interleaved
#      a b a b ... for --rounds rounds; TPS of each and the ratio b/a.
#
#   tools/bench-writes.sh [--duration S] [--rounds N] [--clients N] [--api-latency-ms MS]
# Environment: APIBOUNCER_BIN (default build/apibouncer), FAKEAPI_BIN (default
# build/tools/fakeapi/fakeapi). Run as root; PostgreSQL runs as the postgres user
# (tools/pg-sandbox.sh), everything on free ports, all of it removed on exit.
set -euo pipefail
COMMAND_LINE="$(printf '%q ' "$0" "$@")"
cd "$(dirname "$0")/.."
ROOT=$(pwd)

DURATION=10 ROUNDS=2 CLIENTS=32 API_LATENCY_MS=20
while [ $# -gt 0 ]; do
  case $1 in
    --duration) DURATION=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --api-latency-ms) API_LATENCY_MS=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
APIBOUNCER_BIN=${APIBOUNCER_BIN:-$ROOT/build/apibouncer}
FAKEAPI_BIN=${FAKEAPI_BIN:-$ROOT/build/tools/fakeapi/fakeapi}
[ -x "$APIBOUNCER_BIN" ] || { echo "build apibouncer first (cmake --build build)" >&2; exit 1; }
[ -x "$FAKEAPI_BIN" ] || { echo "build fakeapi first (cmake --build build --target fakeapi)" >&2; exit 1; }
command -v pgbench >/dev/null || { echo "pgbench not found (apt-get install postgresql-client)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/apibouncer-bench-writes-XXXXXX)
chmod 755 "$WORK"
# Private copies: a rebuild during the run must not swap the binaries under us.
mkdir -p "$WORK/bin"
cp "$APIBOUNCER_BIN" "$WORK/bin/apibouncer"
cp "$FAKEAPI_BIN" "$WORK/bin/fakeapi"

PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 30); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  tools/pg-sandbox.sh stop "$WORK/pg" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() {  # port what
  for _ in $(seq 1 100); do
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),timeout=1).close()' "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$2 did not start listening on $1" >&2
  return 1
}

# ---- PostgreSQL: pgbench tables (scale 1) and the synced table, in database app ----------------
tools/pg-sandbox.sh start "$WORK/pg"
# shellcheck disable=SC1091
. "$WORK/pg/env"
psql_su() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_SANDBOX_PORT" -U postgres -d app "$@"; }
psql_su >/dev/null <<'SQL'
SET password_encryption = 'scram-sha-256';
CREATE ROLE writer LOGIN PASSWORD 'writer-secret';
GRANT CONNECT ON DATABASE app TO writer;
CREATE TABLE public.bench_synced (id text PRIMARY KEY, name text NOT NULL, score int);
GRANT SELECT ON public.bench_synced TO app;
GRANT ALL ON public.bench_synced TO writer;
SQL
# app owns database app (and its public schema), so its pgbench tables are its own.
PGPASSWORD=app-secret pgbench -i -s 1 -q -h 127.0.0.1 -p "$PG_SANDBOX_PORT" -U app app >"$WORK/pgbench-init.log" 2>&1 \
  || { cat "$WORK/pgbench-init.log" >&2; exit 1; }

# ---- the fake API ------------------------------------------------------------------------------
API_KEY=bench-key
"$WORK/bin/fakeapi" --port 0 --port-file "$WORK/fakeapi.port" --api-key "$API_KEY" \
  --latency-ms "$API_LATENCY_MS" >"$WORK/fakeapi.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$WORK/fakeapi.port" ] && break; sleep 0.05; done
[ -s "$WORK/fakeapi.port" ] || { cat "$WORK/fakeapi.log" >&2; echo "fakeapi did not start" >&2; exit 1; }
API_PORT=$(cat "$WORK/fakeapi.port")

# ---- two apibouncers: a = plain pooler, b = with interception ------------------------------------
printf '"app" "app-secret"\n"writer" "writer-secret"\n' >"$WORK/userlist.txt"
write_ini() {  # name port with-interception(0|1)
  mkdir -p "$WORK/$1"
  cat >"$WORK/$1/pooler.ini" <<INI
[databases]
app = host=127.0.0.1 port=$PG_SANDBOX_PORT dbname=app
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $2
unix_socket_dir = $WORK/$1
auth_type = scram-sha-256
auth_file = $WORK/userlist.txt
pool_mode = transaction
default_pool_size = 20
max_client_conn = $((CLIENTS + 100))
logfile = $WORK/$1/pooler.log
pidfile = $WORK/$1/pooler.pid
log_connections = 0
log_disconnections = 0
INI
  if [ "$3" = 1 ]; then
    cat >>"$WORK/$1/pooler.ini" <<INI
[apibouncer]
writer_user = writer
write_pool_size = 32
[api.crm]
platform = http
base_url = http://127.0.0.1:$API_PORT
api_key = $API_KEY
[table.public.bench_synced]
database = app
api = crm
object = bench_synced
primary_key = id
INI
  fi
}
A_PORT=$(free_port); B_PORT=$(free_port)
write_ini plain "$A_PORT" 0
write_ini synced "$B_PORT" 1
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
for side in plain synced; do
  "$WORK/bin/apibouncer" "$WORK/$side/pooler.ini" >"$WORK/$side/stderr.log" 2>&1 &
  PIDS+=($!)
done
wait_port "$A_PORT" "apibouncer (plain)" || { cat "$WORK/plain/stderr.log" "$WORK/plain/pooler.log" >&2; exit 1; }
wait_port "$B_PORT" "apibouncer (synced)" || { cat "$WORK/synced/stderr.log" "$WORK/synced/pooler.log" >&2; exit 1; }

export PGPASSWORD=app-secret
bench() {  # port args... ; prints pgbench's output, never fails
  local port=$1; shift
  timeout $((DURATION + 60)) pgbench -n -h 127.0.0.1 -p "$port" -U app "$@" app 2>&1 || true
}
tps_of() { sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1; }
# The first error pgbench reports, or nothing for a clean run.
error_of() {
  local out=$1
  if grep -qE 'aborted|error|^number of failed transactions: [1-9]' <<<"$out" || [ -z "$(tps_of <<<"$out")" ]; then
    grep -iE 'error|aborted|fatal' <<<"$out" | head -1 | sed 's/^pgbench: //' | cut -c1-160
    grep -qiE 'error|aborted|fatal' <<<"$out" || echo "no tps in pgbench output"
  fi
}

# ---- 1. writes -----------------------------------------------------------------------------------
echo "INSERT INTO bench_synced (name, score) VALUES ('x', 1)" >"$WORK/insert.sql"
WRITE_ARGS=(-f "$WORK/insert.sql" -c "$CLIENTS" -j "$CLIENTS")
# Warm-up: the write pool's links and the HTTP connections open before anything is timed.
bench "$B_PORT" "${WRITE_ARGS[@]}" -M simple -T 2 >"$WORK/warmup-writes.log"

declare -A W_P50 W_P99 W_TPS W_ERR
run_writes() {  # mode
  local mode=$1 out
  mkdir -p "$WORK/log-$mode"
  out=$(bench "$B_PORT" "${WRITE_ARGS[@]}" -M "$mode" -T "$DURATION" --log --log-prefix="$WORK/log-$mode/tx")
  echo "$out" >"$WORK/writes-$mode.out"
  W_ERR[$mode]=$(error_of "$out")
  W_TPS[$mode]=$(tps_of <<<"$out")
  # Per-transaction log lines: client_id transaction_no latency_us script_no epoch_s epoch_us.
  local stats
  stats=$(cat "$WORK/log-$mode"/tx.* 2>/dev/null | awk '{print $3}' | sort -n | awk '
    {v[NR] = $1}
    END {
      if (NR == 0) { print "0 0"; exit }
      i50 = int(NR * 0.50); if (i50 < NR * 0.50) i50++; if (i50 < 1) i50 = 1
      i99 = int(NR * 0.99); if (i99 < NR * 0.99) i99++; if (i99 < 1) i99 = 1
      printf "%.2f %.2f\n", v[i50] / 1000, v[i99] / 1000
    }')
  W_P50[$mode]=${stats% *}
  W_P99[$mode]=${stats#* }
}
run_writes simple
run_writes extended

# ---- 2. reads ------------------------------------------------------------------------------------
READ_ARGS=(-S -M simple -c 10 -j 2)
for port in "$A_PORT" "$B_PORT"; do bench "$port" "${READ_ARGS[@]}" -T 2 >/dev/null; done
R_A=() R_B=() R_ERR=""
for round in $(seq 1 "$ROUNDS"); do
  for side in a b; do
    port=$([ $side = a ] && echo "$A_PORT" || echo "$B_PORT")
    out=$(bench "$port" "${READ_ARGS[@]}" -T "$DURATION")
    echo "$out" >"$WORK/reads-$side-$round.out"
    err=$(error_of "$out")
    [ -n "$err" ] && R_ERR+="  round $round $side: $err"$'\n'
    tps=$(tps_of <<<"$out")
    if [ $side = a ]; then R_A+=("${tps:-0}"); else R_B+=("${tps:-0}"); fi
  done
done

# ---- report --------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a > 0) printf "%.3f", b / a; else print "n/a"}'; }
minus() { awk -v x="$1" -v y="$2" 'BEGIN {printf "%.2f", x - y}'; }
mean() { printf '%s\n' "$@" | awk 'NF {s += $1; n++} END {if (n) printf "%.1f", s / n; else print 0}'; }

echo
echo "command: $COMMAND_LINE"
echo "apibouncer: $APIBOUNCER_BIN ($(stat -c %y "$APIBOUNCER_BIN" | cut -d. -f1)), PostgreSQL port $PG_SANDBOX_PORT, pool_mode = transaction, default_pool_size = 20"
echo
echo "1. writes: INSERT INTO bench_synced (name, score) VALUES ('x', 1), one row per statement,"
echo "   fake API latency ${API_LATENCY_MS} ms, pgbench -c $CLIENTS -j $CLIENTS -T $DURATION, write_pool_size = 32"
printf '%-9s %9s %9s %13s %13s %10s\n' protocol "p50 ms" "p99 ms" "p50-API ms" "p99-API ms" writes/s
for mode in simple extended; do
  if [ -n "${W_ERR[$mode]}" ]; then
    printf '%-9s fails: %s\n' "$mode" "${W_ERR[$mode]}"
  else
    printf '%-9s %9s %9s %13s %13s %10s\n' "$mode" "${W_P50[$mode]}" "${W_P99[$mode]}" \
      "$(minus "${W_P50[$mode]}" "$API_LATENCY_MS")" "$(minus "${W_P99[$mode]}" "$API_LATENCY_MS")" \
      "$(printf '%.1f' "${W_TPS[$mode]}")"
  fi
done
rows=$(psql_su -At -c "SELECT count(*) FROM public.bench_synced")
api_records=$(python3 -c '
import json, sys, urllib.request
store = json.load(urllib.request.urlopen("http://127.0.0.1:%s/_control/store" % sys.argv[1], timeout=10))
print(len(store.get("bench_synced", [])))' "$API_PORT" 2>/dev/null || echo "?")
echo "   rows in bench_synced: $rows, records in the fake API: $api_records (warm-up included)"

echo
echo "2. reads: pgbench -S -M simple -c 10 -j 2 -T $DURATION, scale 1; a = no interception sections, b = synced table configured"
printf '%-7s %12s %12s %7s\n' round "a tps" "b tps" "b/a"
for i in $(seq 0 $((ROUNDS - 1))); do
  printf '%-7s %12.1f %12.1f %7s\n' "$((i + 1))" "${R_A[$i]}" "${R_B[$i]}" "$(ratio "${R_A[$i]}" "${R_B[$i]}")"
done
ma=$(mean "${R_A[@]}"); mb=$(mean "${R_B[@]}")
printf '%-7s %12s %12s %7s\n' mean "$ma" "$mb" "$(ratio "$ma" "$mb")"
[ -n "$R_ERR" ] && printf 'read errors:\n%s' "$R_ERR"

echo
for side in plain synced; do
  n=$(grep -ciE 'error|warning|fatal|panic' "$WORK/$side/pooler.log" 2>/dev/null || true)
  echo "apibouncer ($side) log: ${n:-0} error/warning lines"
  grep -iE 'error|warning|fatal|panic' "$WORK/$side/pooler.log" 2>/dev/null \
    | sed -E 's/^[0-9-]+ [0-9:.]+ ([A-Z]+ )?//' | sort | uniq -c | sort -rn | head -5 | sed 's/^/   /' || true
done
