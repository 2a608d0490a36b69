#!/usr/bin/env bash
# A throw-away PostgreSQL server in a local folder, on a loopback port.
#   deploy/pg-local.sh start DIR [PORT]   initdb (first time) and start; prints the connection string
#   deploy/pg-local.sh stop DIR           stop it
# PORT 0 picks a free loopback port; when another process takes it between the pick and the server's bind (a busy
# machine running tests in parallel), the server is started again on a new port. A port given explicitly is used as
# is (a restart on the same data keeps its clients' connection string). The port in use is written to DIR/port.
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

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A loopback port nobody listens on right now (not held: the server's own bind is the test, retried above).
free_port() {
  local p
  while true; do
    p=$(( (RANDOM * 32768 + RANDOM) % 30000 + 20000 ))
    port_in_use "$p" || { echo "$p"; return; }
  done
}

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
    attempts=1; [ "$port" = 0 ] && attempts=10
    for attempt in $(seq 1 "$attempts"); do
      p=$port; [ "$p" = 0 ] && p=$(free_port)
      seen=$( [ -f "$dir/server.log" ] && wc -l <"$dir/server.log" || echo 0)
      # 300 connections by default: silos, gateways and tests, each with its own Npgsql pool (SMPC_PG_MAX_CONNECTIONS overrides).
      if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
           -o "-p $p -k $dir -c listen_addresses=127.0.0.1 -c max_connections=${SMPC_PG_MAX_CONNECTIONS:-300}" start >&2; then
        echo "$p" >"$dir/port"
        echo "Host=127.0.0.1;Port=$p;Username=postgres;Database=postgres"
        exit 0
      fi
      # Only a lost race for the port is retried; anything else is a real failure.
      grep -qi 'could not bind\|address already in use' <<<"$(tail -n +"$((seen + 1))" "$dir/server.log" 2>/dev/null)" || exit 1
      echo "port $p was taken before PostgreSQL bound it (attempt $attempt of $attempts)" >&2
    done
    exit 1
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    fi
    ;;
  *)
    echo "unknown command $cmd" >&2; exit 2 ;;
esac
