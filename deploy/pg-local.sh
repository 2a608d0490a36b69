#!/usr/bin/env bash
# A throw-away PostgreSQL server in a local folder, on a loopback port.
#   deploy/pg-local.sh start DIR [PORT]   initdb (first time) and start; prints the connection string
#   deploy/pg-local.sh stop DIR           stop it
# initdb refuses to run as root, so as root the server runs as the 'postgres' user.
set -euo pipefail
cmd=${1:?usage: pg-local.sh start DIR [PORT] | stop DIR}
dir=$(mkdir -p "${2:?DIR}" && cd "$2" && pwd)
port=${3:-55432}

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bin" ]; then
  echo "PostgreSQL binaries not found; installing them with apt" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
  start)
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    # 300 connections by default: silos, gateways and tests, each with its own Npgsql pool (SMPC_PG_MAX_CONNECTIONS overrides).
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=${SMPC_PG_MAX_CONNECTIONS:-300}" start >&2
    echo "Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    fi
    ;;
  *)
    echo "unknown command $cmd" >&2; exit 2 ;;
esac
