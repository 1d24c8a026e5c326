#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the tests on 127.0.0.1 and a free port.
# Usage: exports=$(scripts/pg_test_server.sh start DIR) && eval "$exports"   → exports NB2PROD_TEST_PG_URL
#        scripts/pg_test_server.sh stop DIR
# `start` prints only the export line, and exits non-zero (saying why on stderr) when no server started:
# callers must not `eval "$(… start …)"` directly — eval of an empty string succeeds.
set -euo pipefail
action=${1:?start|stop}
dir=${2:?data folder}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bin" ]; then
  [ "$action" = stop ] && exit 0
  echo "pg_test_server: PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)" >&2
  exit 1
fi
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
failed() {  # what failed, and the end of its log
  echo "pg_test_server: $1 failed; last lines of $2:" >&2
  tail -n 20 "$2" >&2 2>/dev/null || true
  exit 1
}
case "$action" in
  start)
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    as_pg "'$bin/initdb' -D '$dir/data' -U postgres -A trust --no-sync >'$dir/initdb.log' 2>&1" || failed initdb "$dir/initdb.log"
    as_pg "'$bin/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -o \"-c listen_addresses=127.0.0.1 -p $port -k '$dir' -c fsync=off\" start >/dev/null" \
      || failed "pg_ctl start" "$dir/server.log"
    as_pg "'$bin/createdb' -h 127.0.0.1 -p $port -U postgres nb2prod_test" || failed createdb "$dir/server.log"
    echo "export NB2PROD_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:$port/nb2prod_test"
    ;;
  stop)
    if [ -d "$dir/data" ]; then as_pg "'$bin/pg_ctl' -D '$dir/data' -m fast -w stop >/dev/null" || true; fi
    ;;
  *)
    echo "pg_test_server: unknown action '$action' (start or stop)" >&2
    exit 2
    ;;
esac
