#!/usr/bin/env bash
# The quick-start: installs what is missing, builds, starts a throwaway PostgreSQL, the local
# fake API and apibouncer in front of PostgreSQL (config from etc/apibouncer.ini, with the
# synced table public.customers), shows one intercepted write end to end, prints how to
# connect, and runs until Ctrl-C, then cleans everything up.
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

# The synced table public.customers: owned by the superuser, readable by app, writable only
# by apibouncer's writer role (the guard SQL below); its rows come from the fake API.
SUPER="host=$PG_SANDBOX_SOCKET_DIR port=$PG_SANDBOX_PORT user=postgres"
psql -X -q -v ON_ERROR_STOP=1 "$SUPER dbname=postgres" \
  -c "CREATE ROLE apibouncer_writer LOGIN PASSWORD 'writer-secret'" \
  -c "GRANT CONNECT, TEMPORARY ON DATABASE app TO apibouncer_writer"
psql -X -q -v ON_ERROR_STOP=1 "$SUPER dbname=app" -c "CREATE TABLE public.customers (
  id text PRIMARY KEY, name text NOT NULL, email text, plan text DEFAULT 'free')"

# The fake API: the upstream the synced table writes to.
export CRM_API_KEY=demo-key
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
    -e "s|^base_url = http://127.0.0.1:8080|base_url = http://127.0.0.1:$FAKEAPI_PORT|" \
    etc/apibouncer.ini >"$WORK/apibouncer.ini"
build/apibouncer --guard-sql "$WORK/apibouncer.ini" | psql -X -q -v ON_ERROR_STOP=1 "$SUPER dbname=app"

build/apibouncer "$WORK/apibouncer.ini" &
POOLER_PID=$!
for _ in $(seq 1 50); do
  (echo >"/dev/tcp/127.0.0.1/$LISTEN_PORT") 2>/dev/null && break
  sleep 0.1
done

# One intercepted write, end to end: the API assigns the id, the table gets it.
echo
echo "An INSERT through apibouncer into the synced table public.customers:"
PGPASSWORD=app-secret psql -X "host=127.0.0.1 port=$LISTEN_PORT dbname=app user=app" \
  -c "INSERT INTO customers (name, email) VALUES ('Ada', 'ada@example.com') RETURNING *"
echo "The fake API's store now:"
curl -s "http://127.0.0.1:$FAKEAPI_PORT/_control/store"
echo

cat <<MSG

apibouncer is running (PostgreSQL $PG_SANDBOX_PORT behind it). Connect with:

    PGPASSWORD=app-secret psql "host=127.0.0.1 port=$LISTEN_PORT dbname=app user=app"

public.customers is a synced table: writes go to the fake API first, then to the table
with the API's id (try them in psql):

    INSERT INTO customers (name, email) VALUES ('Ada', 'ada@example.com') RETURNING id, plan;
    UPDATE customers SET plan = 'pro' WHERE name = 'Ada';
    INSERT INTO customers (name, email) VALUES ('Bob', 'INVALID');   -- the API refuses: 23514
    DELETE FROM customers WHERE name = 'Ada';

What the API holds, and what it was asked (http://127.0.0.1:$FAKEAPI_PORT, key demo-key):

    curl http://127.0.0.1:$FAKEAPI_PORT/_control/store
    curl http://127.0.0.1:$FAKEAPI_PORT/_control/requests

Config: $WORK/apibouncer.ini   Press Ctrl-C to stop.
MSG
wait "$POOLER_PID" || true
POOLER_PID=""
