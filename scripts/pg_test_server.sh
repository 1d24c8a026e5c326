#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the tests on 127.0.0.1 and a free port.
# Usage: eval "$(scripts/pg_test_server.sh start DIR)"   → exports NB2PROD_TEST_PG_URL
#        scripts/pg_test_server.sh stop DIR
set -euo pipefail
action=${1:?start|stop}
dir=${2:?data folder}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bin" ] || { echo "echo 'pg_test_server: PostgreSQL server binaries not found (apt-get install postgresql)' >&2"; exit 0; }
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
case "$action" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    as_pg "'$bin/initdb' -D '$dir/data' -U postgres -A trust --no-sync >'$dir/initdb.log' 2>&1"
    as_pg "'$bin/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -o \"-c listen_addresses=127.0.0.1 -p $port -k '$dir' -c fsync=off\" start >/dev/null"
    as_pg "'$bin/createdb' -h 127.0.0.1 -p $port -U postgres nb2prod_test"
    echo "export NB2PROD_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:$port/nb2prod_test"
    ;;
  stop)
    [ -d "$dir/data" ] && as_pg "'$bin/pg_ctl' -D '$dir/data' -m fast -w stop >/dev/null" || true
    ;;
esac
