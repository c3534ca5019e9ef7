#!/usr/bin/env bash
# The quick-start: installs what is missing, builds, starts a throwaway PostgreSQL, the local
# fake API and apibouncer in front of PostgreSQL (config from etc/apibouncer.ini), prints how
# to connect, and runs until Ctrl-C, then cleans everything up.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target apibouncer fakeapi

WORK=$(mktemp -d /tmp/apibouncer-quickstart-XXXXXX)
POOLER_PID=""
FAKEAPI_PID=""
cleanup() {
  trap - INT TERM EXIT
  [ -n "$FAKEAPI_PID" ] && kill -TERM "$FAKEAPI_PID" 2>/dev/null
  [ -n "$POOLER_PID" ] && kill -INT "$POOLER_PID" 2>/dev/null && kill -INT "$POOLER_PID" 2>/dev/null
  wait 2>/dev/null || true
  "$ROOT/tools/pg-sandbox.sh" stop "$WORK/pg" || true
  rm -rf "$WORK"
  echo "quickstart: stopped and cleaned up"
}
trap cleanup INT TERM EXIT

"$ROOT/tools/pg-sandbox.sh" start "$WORK/pg"
# shellcheck disable=SC1091
. "$WORK/pg/env"

# The fake API: what synced tables will write to (the write-through is not built yet; its
# store and fault injection can be tried with curl meanwhile).
build/tools/fakeapi/fakeapi --port 0 --port-file "$WORK/fakeapi.port" --api-key demo-key \
  >"$WORK/fakeapi.log" 2>&1 &
FAKEAPI_PID=$!
for _ in $(seq 1 50); do [ -s "$WORK/fakeapi.port" ] && break; sleep 0.1; done
FAKEAPI_PORT=$(cat "$WORK/fakeapi.port")

LISTEN_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cp etc/userlist.txt "$WORK/userlist.txt"
sed -e "s|^app = .*|app = host=127.0.0.1 port=$PG_SANDBOX_PORT dbname=app|" \
    -e "s|^listen_port = .*|listen_port = $LISTEN_PORT|" \
    -e "s|^unix_socket_dir = .*|unix_socket_dir = $WORK|" \
    -e "s|^auth_file = .*|auth_file = $WORK/userlist.txt|" \
    etc/apibouncer.ini >"$WORK/apibouncer.ini"

build/apibouncer "$WORK/apibouncer.ini" &
POOLER_PID=$!
for _ in $(seq 1 50); do
  (echo >"/dev/tcp/127.0.0.1/$LISTEN_PORT") 2>/dev/null && break
  sleep 0.1
done

cat <<MSG

apibouncer is running (PostgreSQL $PG_SANDBOX_PORT behind it). Connect with:

    PGPASSWORD=app-secret psql "host=127.0.0.1 port=$LISTEN_PORT dbname=app user=app"

The fake API listens on http://127.0.0.1:$FAKEAPI_PORT (api key demo-key), e.g.

    curl -H 'Authorization: Bearer demo-key' -d '{"records":[{"name":"Ada"}]}' http://127.0.0.1:$FAKEAPI_PORT/customer
    curl http://127.0.0.1:$FAKEAPI_PORT/_control/store

Config: $WORK/apibouncer.ini   Press Ctrl-C to stop.
MSG
wait "$POOLER_PID" || true
POOLER_PID=""
