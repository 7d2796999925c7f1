#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests: start_test_postgres exports TEST_DATABASE_URL.
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
PG_PORT="${TEST_PG_PORT:-54329}"
PG_DIR=""

_as_postgres() {
  if [ "$(id -u)" = "0" ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start_test_postgres() {
  if [ -z "$PG_BIN" ]; then
    echo "PostgreSQL is not installed" >&2
    return 1
  fi
  if [ "$(id -u)" = "0" ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home /var/lib/postgresql --shell /bin/bash postgres
  fi
  PG_DIR="$(mktemp -d /tmp/servicedesk-pg.XXXXXX)"
  [ "$(id -u)" = "0" ] && chown postgres "$PG_DIR"
  _as_postgres "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --no-locale >/dev/null
  _as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
  _as_postgres "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres servicedesk_test
  export TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/servicedesk_test"
  echo "PostgreSQL test server on port $PG_PORT"
}

stop_test_postgres() {
  if [ -n "$PG_DIR" ] && [ -d "$PG_DIR/data" ]; then
    _as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}
