#!/usr/bin/env bash
# Benchmarks apibouncer against PgBouncer side by side: one throwaway PostgreSQL, the same
# generated ini for both (only ports, socket dir, log and pid files differ), pgbench runs
# interleaved (A B B A ...), then a table of TPS, latency and the apibouncer/PgBouncer ratio,
# the ratio of each round (how much the machine's noise moves it), the CPU time each pooler
# process spent per transaction, plus the memory each pooler spends per idle client connection.
#
#   tools/bench.sh [--duration S] [--rounds N] [--only REGEX] [--pool-mode MODE] [--idle N]
#                  [--pgbouncer debian13|PATH]
# --pgbouncer debian13 compares with Debian 13's PgBouncer (tools/pgbouncer-debian13.sh), the
# first Debian package that keeps prepared statements in transaction pooling.
# Environment: APIBOUNCER_BIN (default build/apibouncer), PGBOUNCER_BIN (default pgbouncer).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

DURATION=10 ROUNDS=2 ONLY=. POOL_MODE=session IDLE=1000
while [ $# -gt 0 ]; do
  case $1 in
    --duration) DURATION=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --pool-mode) POOL_MODE=$2; shift 2 ;;
    --idle) IDLE=$2; shift 2 ;;
    --pgbouncer) PGBOUNCER_BIN=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
APIBOUNCER_BIN=${APIBOUNCER_BIN:-$ROOT/build/apibouncer}
PGBOUNCER_BIN=${PGBOUNCER_BIN:-$(command -v pgbouncer || echo /usr/sbin/pgbouncer)}
[ "$PGBOUNCER_BIN" = debian13 ] && PGBOUNCER_BIN=$(tools/pgbouncer-debian13.sh)
[ -x "$APIBOUNCER_BIN" ] || { echo "build apibouncer first (cmake --build build)" >&2; exit 1; }
echo "A: $("$APIBOUNCER_BIN" -V | head -1)   B: $("$PGBOUNCER_BIN" -V | head -1)   pool_mode $POOL_MODE"

WORK=$(mktemp -d /tmp/apibouncer-bench-XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
  # The poolers run under runuser: signal them through their pidfiles, not the wrappers.
  # SIGINT (safe shutdown; the KILL below covers a pooler still holding clients) rather than
  # SIGQUIT: bash announces a background job ended by most signals, not by SIGINT.
  for side in apibouncer pgbouncer; do
    [ -f "$WORK/$side/pooler.pid" ] && kill -INT "$(cat "$WORK/$side/pooler.pid")" 2>/dev/null
  done
  sleep 0.5
  pkill -KILL -f "$WORK/" 2>/dev/null || true
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  tools/pg-sandbox.sh stop "$WORK/pg" || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

tools/pg-sandbox.sh start "$WORK/pg"
# shellcheck disable=SC1091
. "$WORK/pg/env"
pgbench -i -s 10 -q -h 127.0.0.1 -p "$PG_SANDBOX_PORT" -U postgres postgres >/dev/null 2>&1

echo '"bench" ""' >"$WORK/userlist.txt"
write_ini() {  # name port
  mkdir -p "$WORK/$1"
  cat >"$WORK/$1/pooler.ini" <<INI
[databases]
bench = host=127.0.0.1 port=$PG_SANDBOX_PORT dbname=postgres user=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $2
unix_socket_dir = $WORK/$1
auth_type = trust
auth_file = $WORK/userlist.txt
pool_mode = $POOL_MODE
default_pool_size = $POOL_SIZE
max_client_conn = $((2 * IDLE + 200))
logfile = $WORK/$1/pooler.log
pidfile = $WORK/$1/pooler.pid
log_connections = 0
log_disconnections = 0
INI
  chown -R postgres "$WORK/$1"
  chmod 644 "$WORK/$1/pooler.ini" "$WORK/userlist.txt"
}

# Session mode keeps a server link per client, so the pool must fit the biggest -c (100).
POOL_SIZE=$([ "$POOL_MODE" = session ] && echo 110 || echo 20)
A_PORT=$(free_port); B_PORT=$(free_port)
write_ini apibouncer "$A_PORT"
write_ini pgbouncer "$B_PORT"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
# PgBouncer refuses to run as root; both run as postgres with the same fd limit (runuser's
# PAM session would otherwise leave PgBouncer at a soft limit of 1024).
# The single quotes are meant: the inner sh expands "$@" and ulimit, not this shell.
# shellcheck disable=SC2016
as_postgres() { runuser -u postgres -- sh -c 'ulimit -n "$(ulimit -Hn)"; exec "$@"' sh "$@"; }
as_postgres "$APIBOUNCER_BIN" -q "$WORK/apibouncer/pooler.ini" &
PIDS+=($!)
as_postgres "$PGBOUNCER_BIN" -q "$WORK/pgbouncer/pooler.ini" &
PIDS+=($!)
sleep 1

# Beyond the select-one-row workloads: a result of 2,000 rows (~200 kB) per transaction, where
# the pooler's cost is moving bytes rather than turning around small messages.
echo 'SELECT * FROM pgbench_accounts WHERE aid <= 2000;' >"$WORK/rows2000.sql"
WORKLOADS=(
  "select-simple-c10|-S -M simple -c 10 -j 2"
  "select-extended-c10|-S -M extended -c 10 -j 2"
  "select-prepared-c10|-S -M prepared -c 10 -j 2"
  "select-simple-c100|-S -M simple -c 100 -j 2"
  "select-extended-c100|-S -M extended -c 100 -j 2"
  "select-prepared-c100|-S -M prepared -c 100 -j 2"
  "connect-per-txn|-S -C -c 10 -j 2"
  "latency-c1|-S -M simple -c 1 -j 1"
  "rows2000-c10|-f $WORK/rows2000.sql -M extended -c 10 -j 2"
)

pooler_pid() { cat "$WORK/$1/pooler.pid" 2>/dev/null || pgrep -f "$WORK/$1/pooler.ini" | head -1; }
# User + system CPU time of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat;
# the command name in field 2 has no spaces here); 0 if the process is gone.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
TICKS_PER_S=$(getconf CLK_TCK)

declare -A TPS LAT CPU FAILED
run_one() {  # name port args
  local out pid ticks_before
  pid=$(pooler_pid "$([ "${1%%:*}" = a ] && echo apibouncer || echo pgbouncer)")
  ticks_before=$(cpu_ticks "$pid")
  # shellcheck disable=SC2086
  out=$(timeout $((DURATION + 60)) pgbench $3 -T "$DURATION" -n -h 127.0.0.1 -p "$2" -U bench bench 2>&1) || true
  local tps lat txns cpu_us
  tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | head -1)
  lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out" | head -1)
  txns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out" | head -1)
  cpu_us=$(awk -v t="$(($(cpu_ticks "$pid") - ticks_before))" -v hz="$TICKS_PER_S" -v n="${txns:-0}" \
    'BEGIN {if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print 0}')
  TPS[$1]="${TPS[$1]:-} ${tps:-0}"
  LAT[$1]="${LAT[$1]:-} ${lat:-0}"
  CPU[$1]="${CPU[$1]:-} $cpu_us"
  # A run with errors (PgBouncer before 1.21 cannot keep prepared statements in transaction
  # pooling) is no result: its TPS counts only the clients that survived.
  if grep -qE 'aborted|error:|^number of failed transactions: [1-9]' <<<"$out" || [ -z "$tps" ]; then
    FAILED[$1]=1
  fi
}

# Warm-up: both poolers open their links and touch their buffers before anything is timed.
for port in "$A_PORT" "$B_PORT"; do
  pgbench -S -M simple -c 20 -j 2 -T 2 -n -h 127.0.0.1 -p "$port" -U bench bench >/dev/null 2>&1 || true
done

for entry in "${WORKLOADS[@]}"; do
  name=${entry%%|*}; args=${entry#*|}
  [[ $name =~ $ONLY ]] || continue
  # A B, then B A: whichever runs first after a change of workload (a colder cache, the
  # other's links still closing) is not always the same pooler.
  for round in $(seq 1 "$ROUNDS"); do
    if ((round % 2)); then
      run_one "a:$name" "$A_PORT" "$args"
      run_one "b:$name" "$B_PORT" "$args"
    else
      run_one "b:$name" "$B_PORT" "$args"
      run_one "a:$name" "$A_PORT" "$args"
    fi
  done
done

mean() { tr ' ' '\n' | awk 'NF {s += $1; n++} END {if (n) printf "%.1f", s / n; else print 0}'; }

# Each round's ratio (A and B of the same round ran back to back): the spread shows how much
# of a difference the machine's own noise makes.
round_ratios() {  # name
  paste -d' ' <(tr ' ' '\n' <<<"${TPS[a:$1]}" | awk NF) <(tr ' ' '\n' <<<"${TPS[b:$1]}" | awk NF) |
    awk '{if ($2 > 0) printf "%s%.2f", (NR > 1 ? " " : ""), $1 / $2}'
}
# How far the machine's noise leaves the ratio uncertain: the 95% confidence interval of the
# geometric mean of the per-round ratios (Student's t over log ratios; rounds are pairs that ran
# back to back, so drift between rounds cancels). An interval that straddles 1.00 means this run
# cannot tell the two poolers apart on that workload.
ratio_interval() {  # ratios...
  awk '{
    n = NF
    if (n < 2) { print "-"; exit }
    for (i = 1; i <= n; i++) {
      if ($i <= 0) { print "-"; exit }  # apibouncer did nothing (round_ratios drops B = 0)
      l[i] = log($i); s += l[i]
    }
    m = s / n
    for (i = 1; i <= n; i++) v += (l[i] - m) ^ 2
    # two-sided 95% quantiles of Student t for 1..30 degrees of freedom
    split("12.71 4.30 3.18 2.78 2.57 2.45 2.36 2.31 2.26 2.23 2.20 2.18 2.16 2.14 2.13 " \
          "2.12 2.11 2.10 2.09 2.09 2.08 2.07 2.07 2.06 2.06 2.06 2.05 2.05 2.05 2.04", t, " ")
    q = (n - 1 <= 30 ? t[n - 1] : 2.0)
    h = q * sqrt(v / (n - 1) / n)
    printf "%.2f-%.2f", exp(m - h), exp(m + h)
  }' <<<"$*"
}
printf '\n%-22s %10s %10s %6s %9s %8s %8s %8s %8s  %s\n' workload "A tps" "B tps" ratio "95% CI" \
  "A lat" "B lat" "A cpu" "B cpu" "ratio per round"
for entry in "${WORKLOADS[@]}"; do
  name=${entry%%|*}
  [[ $name =~ $ONLY ]] || continue
  a=$(mean <<<"${TPS[a:$name]}"); b=$(mean <<<"${TPS[b:$name]}")
  la=$(mean <<<"${LAT[a:$name]}"); lb=$(mean <<<"${LAT[b:$name]}")
  ca=$(mean <<<"${CPU[a:$name]}"); cb=$(mean <<<"${CPU[b:$name]}")
  ratio=$(awk -v a="$a" -v b="$b" 'BEGIN {if (b > 0) printf "%.3f", a / b; else print "n/a"}')
  rounds=$(round_ratios "$name")
  [ -n "${FAILED[a:$name]:-}" ] && { a=failed; ratio=n/a; rounds=; }
  [ -n "${FAILED[b:$name]:-}" ] && { b=failed; ratio=n/a; rounds=; }
  interval=$(ratio_interval "$rounds")  # "-" for a failed workload: no rounds left
  printf '%-22s %10s %10s %6s %9s %8s %8s %8s %8s  %s\n' "$name" "$a" "$b" "$ratio" "$interval" \
    "$la" "$lb" "$ca" "$cb" "$rounds"
done
echo "(tps: mean of the rounds; 95% CI: of the per-round ratio; lat: ms per transaction;"
echo " cpu: µs of pooler CPU time per transaction)"

# Memory per idle client: RSS before and after opening $IDLE logged-in idle connections.
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# Opens `count` logged-in idle connections, prints "ready", waits for a line on stdin, opens
# `count` more, prints "ready" again, and holds them all until stdin closes. The first batch
# warms the pooler up (buffers touched once, allocator arenas), so the second batch's RSS delta
# is the cost of a connection.
idle_clients() {  # port count
  python3 - "$1" "$2" <<'PY'
import socket, struct, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
body = b"user\0bench\0database\0bench\0\0"
packet = struct.pack("!ii", 8 + len(body), 196608) + body
socks = []
def open_batch():
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(packet)
        data = b""
        while b"Z\0\0\0\x05" not in data:
            chunk = s.recv(65536)
            if not chunk:
                raise SystemExit("connection closed during login")
            data += chunk
        socks.append(s)
    print("ready", flush=True)
open_batch()
sys.stdin.readline()
open_batch()
sys.stdin.read()
PY
}
if [[ idle-memory =~ $ONLY ]]; then
  printf '\n%-22s %12s %12s %7s\n' "idle-memory (B/conn)" apibouncer pgbouncer ratio
  declare -A PER
  for side in apibouncer pgbouncer; do
    port=$([ $side = apibouncer ] && echo "$A_PORT" || echo "$B_PORT")
    pid=$(pooler_pid $side)
    coproc IDLE_PROC { idle_clients "$port" "$IDLE"; }
    read -r _ <&"${IDLE_PROC[0]}"
    before=$(rss_kb "$pid")
    echo next >&"${IDLE_PROC[1]}"
    read -r _ <&"${IDLE_PROC[0]}"
    after=$(rss_kb "$pid")
    PER[$side]=$(( (after - before) * 1024 / IDLE ))
    # Closes the coprocess's stdin (bash takes an array element as {varname}); shellcheck
    # reads it as a command.
    # shellcheck disable=SC1083,SC2093
    exec {IDLE_PROC[1]}>&-
    wait "$IDLE_PROC_PID" 2>/dev/null || true
    sleep 1
  done
  ratio=$(awk -v a="${PER[apibouncer]}" -v b="${PER[pgbouncer]}" 'BEGIN {if (b > 0) printf "%.3f", a / b; else print "n/a"}')
  printf '%-22s %12s %12s %7s\n' "$IDLE idle clients" "${PER[apibouncer]}" "${PER[pgbouncer]}" "$ratio"
fi
