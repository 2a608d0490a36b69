#!/usr/bin/env bash
# A real Smpc cluster on loopback: PostgreSQL in a local folder, the schema applied, 3 silos and 2 REST gateways.
#
#   deploy/local-cluster.sh up      [DIR]   start PostgreSQL, migrate, start every process not running; wait until all are ready
#   deploy/local-cluster.sh down    [DIR]   stop every process and PostgreSQL (the folder, logs and data stay)
#   deploy/local-cluster.sh status  [DIR]   processes, their health, and the Orleans membership table
#   deploy/local-cluster.sh kill NAME [DIR]    SIGKILL one process (silo1..3, gateway1..2): no shutdown, no flushing
#   deploy/local-cluster.sh stop NAME [DIR]    SIGTERM one process and wait for it to exit (graceful shutdown)
#   deploy/local-cluster.sh start NAME [DIR]   start one process again on its own ports and wait until it is ready
#   deploy/local-cluster.sh pg-stop|pg-start [DIR]   stop or start the PostgreSQL server (fast shutdown; same data)
#
# DIR defaults to $SMPC_CLUSTER_DIR or .local-cluster in the repository. Everything about the cluster is in DIR:
#   cluster.env        ports, URLs, the connection string and the operator key (owner-only), for scripts and tests
#   logs/NAME.log      each process's output;  pids/NAME.pid   its pid;  env/NAME.env   its own settings
#   pg/                the PostgreSQL data folder and server log
#
# Settings read at `up` (and kept in DIR/common.env for later `start`s):
#   SMPC_SILOS (3), SMPC_GATEWAYS (2), SMPC_CONFIGURATION (Debug) or SMPC_SILO_DLL / SMPC_GATEWAY_DLL,
#   SMPC_CLUSTER_ID (local), SMPC_OPERATOR_KEY (generated when unset), SMPC_SILO_POOL (40), SMPC_GATEWAY_POOL (5),
#   SMPC_PG_MAX_CONNECTIONS (200), SMPC_READY_TIMEOUT (120 s), and any Smpc__*, Logging__*, OTEL_* variable, which
#   every process gets (e.g. Smpc__ProbeTimeout=00:00:02 Smpc__NumMissedProbesLimit=2 for fast failure detection).
#   SMPC_BEFORE_LAUNCH: a command run as `$SMPC_BEFORE_LAUNCH NAME ENV_FILE` just before a process starts (tests use it
#   to take a port away from the process at the worst moment).
#
# Ports: free_port picks a port nobody listens on but cannot hold it until the process binds it, so on a busy machine
# another process may take it first. Binding port 0 and reading the port back is not an option for a silo (Orleans
# advertises its configured endpoint in the membership table before it binds), so instead a process that exits with
# "address already in use" before it is ready is given new ports and started again (PostgreSQL likewise, in
# pg-local.sh). The URLs in cluster.env are rewritten then; readers take them from there after every command.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

cmd=${1:-}
case "$cmd" in
  kill|stop|start) name=${2:?usage: local-cluster.sh $cmd NAME [DIR]}; dir_arg=${3:-} ;;
  up|down|status|pg-stop|pg-start) name=; dir_arg=${2:-} ;;
  *) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
dir=${dir_arg:-${SMPC_CLUSTER_DIR:-$root/.local-cluster}}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# --- helpers -----------------------------------------------------------------------------------------------------

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A free loopback port, not handed out before by this script for this cluster (nor written in its env files).
taken=" $(cat "$dir"/env/*.env 2>/dev/null | grep -o '[:=][0-9]\{4,5\}\b' | tr -d ':=' | tr '\n' ' ' || true)"
free_port() {
  local p
  while true; do
    p=$(( (RANDOM * 32768 + RANDOM) % 30000 + 20000 ))
    case "$taken" in *" $p "*) continue ;; esac
    port_in_use "$p" && continue
    taken="$taken$p "
    echo "$p"
    return
  done
}

pid_of() { [ -f "$dir/pids/$1.pid" ] && cat "$dir/pids/$1.pid" || true; }

running() {
  local pid
  pid=$(pid_of "$1")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ -z "$(ps -o stat= -p "$pid" | grep Z || true)" ]
}

http_status() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" 2>/dev/null || true; }

names() {
  local i
  for i in $(seq 1 "$SILOS"); do echo "silo$i"; done
  for i in $(seq 1 "$GATEWAYS"); do echo "gateway$i"; done
}

load_env() {
  [ -f "$dir/cluster.env" ] || { echo "no cluster in $dir (run: $0 up $dir)" >&2; exit 1; }
  set -a
  # shellcheck disable=SC1091
  . "$dir/cluster.env"
  set +a
}

wait_ready() {
  local name=$1 url=$2 deadline=$(( SECONDS + ${SMPC_READY_TIMEOUT:-120} ))
  while [ "$(http_status "$url/health/ready")" != 200 ]; do
    if ! running "$name"; then
      echo "$name exited before it was ready; last lines of $dir/logs/$name.log:" >&2
      tail -n 40 "$dir/logs/$name.log" >&2
      return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "$name was not ready after ${SMPC_READY_TIMEOUT:-120} s; last lines of $dir/logs/$name.log:" >&2
      tail -n 40 "$dir/logs/$name.log" >&2
      return 1
    fi
    sleep 0.2
  done
}

# The output of a process since its last start.
last_run_log() { awk '/^--- start /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' "$dir/logs/$1.log" 2>/dev/null; }

# Sets KEY=VALUE in an env file (replacing an earlier line for KEY); the file stays owner-only (it holds the operator key).
set_setting() {
  local file=$1 key=$2 value=$3
  ( umask 077; { grep -v "^$key=" "$file" 2>/dev/null || true; echo "$key=$value"; } >"$file.new" )
  mv "$file.new" "$file"
}

# Gives a process new ports: writes its env file and its URL into the cluster's settings file.
assign_ports() {
  local name=$1 settings=$2 port pool var
  port=$(free_port)
  case "$name" in
    silo*)
      pool=${SMPC_SILO_POOL:-40}
      {
        echo "ASPNETCORE_URLS=http://127.0.0.1:$port"
        echo "Smpc__SiloName=$name"
        echo "Smpc__SiloPort=$(free_port)"
        echo "Smpc__GatewayPort=$(free_port)"
      } >"$dir/env/$name.env.new" ;;
    gateway*)
      pool=${SMPC_GATEWAY_POOL:-5}
      echo "ASPNETCORE_URLS=http://127.0.0.1:$port" >"$dir/env/$name.env.new" ;;
  esac
  # The pool size stays what it was when the cluster was created.
  if [ -f "$dir/env/$name.env" ]; then
    grep '^ConnectionStrings__Smpc=' "$dir/env/$name.env" >>"$dir/env/$name.env.new"
  else
    echo "ConnectionStrings__Smpc='$PG_CONNECTION;Maximum Pool Size=$pool'" >>"$dir/env/$name.env.new"
  fi
  mv "$dir/env/$name.env.new" "$dir/env/$name.env"
  var="$(echo "$name" | tr '[:lower:]' '[:upper:]' | sed 's/[0-9]*$//')$(echo "$name" | sed 's/^[a-z]*//')_URL"
  set_setting "$settings" "$var" "http://127.0.0.1:$port"
}

# Waits until a launched process is ready; one that lost a race for a port is started again on new ones.
ready() {
  local name=$1 attempt
  for attempt in 2 3 4 5 6; do
    wait_ready "$name" "$(url_of "$name")" && return 0
    running "$name" && return 1
    grep -qi 'address already in use' <<<"$(last_run_log "$name")" || return 1
    echo "$name lost a race for one of its ports; starting it on new ones (attempt $attempt)" >&2
    assign_ports "$name" "$dir/cluster.env"
    load_env
    launch "$name"
  done
  wait_ready "$name" "$(url_of "$name")"
}

# Starts one process (detached, in its own session) from its env file; does not wait.
launch() {
  local name=$1 dll
  case "$name" in
    silo*) dll=$SILO_DLL ;;
    gateway*) dll=$GATEWAY_DLL ;;
    *) echo "unknown process $name" >&2; exit 2 ;;
  esac
  [ -f "$dir/env/$name.env" ] || { echo "unknown process $name (no $dir/env/$name.env)" >&2; exit 2; }
  running "$name" && return 0
  if [ -n "${SMPC_BEFORE_LAUNCH:-}" ]; then $SMPC_BEFORE_LAUNCH "$name" "$dir/env/$name.env"; fi
  echo "--- start $(date -u +%FT%TZ)" >>"$dir/logs/$name.log"
  (
    cd "$(dirname "$dll")"
    set -a
    . "$dir/common.env"
    . "$dir/env/$name.env"
    set +a
    exec setsid dotnet "$dll" </dev/null >>"$dir/logs/$name.log" 2>&1
  ) &
  echo $! >"$dir/pids/$name.pid"
}

pg() { "$root/deploy/pg-local.sh" "$@"; }

# --- commands ----------------------------------------------------------------------------------------------------

up() {
  mkdir -p "$dir/logs" "$dir/pids" "$dir/env"
  if [ ! -f "$dir/cluster.env" ]; then
    local config=${SMPC_CONFIGURATION:-Debug}
    local silo_dll=${SMPC_SILO_DLL:-$root/Silo/bin/$config/net10.0/Smpc.Silo.dll}
    local gateway_dll=${SMPC_GATEWAY_DLL:-$root/ApiGateway/bin/$config/net10.0/Smpc.ApiGateway.dll}
    if [ ! -f "$silo_dll" ] || [ ! -f "$gateway_dll" ]; then
      echo "building the silo and the gateway ($config)" >&2
      dotnet build "$root/Silo/Smpc.Silo.csproj" -c "$config" -v quiet -nologo >&2
    fi
    local key=${SMPC_OPERATOR_KEY:-smpc_op_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')}
    # PostgreSQL first: pg-local.sh picks its port (and picks again when it loses the port to another process).
    SMPC_PG_MAX_CONNECTIONS=${SMPC_PG_MAX_CONNECTIONS:-200} pg start "$dir/pg" 0 >/dev/null
    local pg_port; pg_port=$(cat "$dir/pg/port")
    {
      echo "SILOS=${SMPC_SILOS:-3}"
      echo "GATEWAYS=${SMPC_GATEWAYS:-2}"
      echo "SILO_DLL=$silo_dll"
      echo "GATEWAY_DLL=$gateway_dll"
      echo "CLUSTER_ID=${SMPC_CLUSTER_ID:-local}"
      echo "PG_PORT=$pg_port"
      echo "PG_CONNECTION='Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=smpc'"
      echo "OPERATOR_KEY=$key"
      echo "OPERATOR_KEY_SHA256=$(printf %s "$key" | sha256sum | cut -d' ' -f1)"
    } >"$dir/cluster.env.tmp"
    chmod 600 "$dir/cluster.env.tmp"
    # What every process gets, also for `start` from another shell later.
    { env | grep -E '^(Smpc__|Logging__|OTEL_)' | sed "s/'/'\\\\''/g; s/=\(.*\)$/='\1'/" || true; } >"$dir/common.env"
    set -a; . "$dir/cluster.env.tmp"; set +a
    local name
    rm -f "$dir"/env/*.env
    for name in $(names); do assign_ports "$name" "$dir/cluster.env.tmp"; done
    # Settings every process shares (after the caller's, so the cluster's own identity wins).
    {
      echo "Smpc__Mode=Cluster"
      echo "Smpc__ClusterId=$CLUSTER_ID"
      echo "Smpc__ServiceId=smpc-local"
      echo "Smpc__Gateway__OperatorKeySha256=$OPERATOR_KEY_SHA256"
      echo "DOTNET_ENVIRONMENT=Production"
      echo "ASPNETCORE_ENVIRONMENT=Production"
      grep -q '^Logging__LogLevel__Default=' "$dir/common.env" || echo "Logging__LogLevel__Default=Warning"
      grep -q '^Logging__LogLevel__Smpc=' "$dir/common.env" || echo "Logging__LogLevel__Smpc=Information"
    } >>"$dir/common.env"
    mv "$dir/cluster.env.tmp" "$dir/cluster.env"
  fi
  load_env

  if [ ! -f "$dir/pg/data/postmaster.pid" ]; then
    SMPC_PG_MAX_CONNECTIONS=${SMPC_PG_MAX_CONNECTIONS:-200} pg start "$dir/pg" "$PG_PORT" >/dev/null
  fi
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qtAc "SELECT 1 FROM pg_database WHERE datname = 'smpc'" | grep -q 1 \
      || psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qc "CREATE DATABASE smpc" >/dev/null

  # The schema: every script is idempotent, so this runs on every `up`.
  if ! (cd "$(dirname "$SILO_DLL")" && set -a && . "$dir/common.env" && . "$dir/env/silo1.env" && set +a \
        && dotnet "$SILO_DLL" migrate) >"$dir/logs/migrate.log" 2>&1; then
    echo "migration failed:" >&2; cat "$dir/logs/migrate.log" >&2; exit 1
  fi

  local name
  for name in $(names); do [[ $name == silo* ]] && launch "$name"; done
  for name in $(names); do [[ $name == silo* ]] && ready "$name"; done
  for name in $(names); do [[ $name == gateway* ]] && launch "$name"; done
  for name in $(names); do [[ $name == gateway* ]] && ready "$name"; done
  echo "cluster up in $dir: $SILOS silos, $GATEWAYS gateways; gateways at $(for i in $(seq 1 "$GATEWAYS"); do v="GATEWAY${i}_URL"; printf '%s ' "${!v}"; done)"
  echo "operator key and URLs: $dir/cluster.env"
}

url_of() {
  local var
  var="$(echo "$1" | tr '[:lower:]' '[:upper:]' | sed 's/[0-9]*$//')$(echo "$1" | sed 's/^[a-z]*//')_URL"
  echo "${!var}"
}

stop_one() {
  local name=$1 signal=$2 pid
  pid=$(pid_of "$name")
  if running "$name"; then
    kill "-$signal" "$pid" 2>/dev/null || true
    local deadline=$(( SECONDS + 60 ))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/pids/$name.pid"
}

down() {
  load_env
  local name
  for name in $(names); do [[ $name == gateway* ]] && stop_one "$name" TERM; done
  for name in $(names); do [[ $name == silo* ]] && stop_one "$name" TERM; done
  pg stop "$dir/pg"
  echo "cluster down ($dir kept; delete it to start afresh)"
}

status() {
  load_env
  local name pid state health url
  printf '%-10s %-8s %-8s %-7s %s\n' process pid state ready url
  for name in $(names); do
    url=$(url_of "$name"); pid=$(pid_of "$name")
    if running "$name"; then state=running; health=$(http_status "$url/health/ready"); else state=down; health=-; fi
    printf '%-10s %-8s %-8s %-7s %s\n' "$name" "${pid:--}" "$state" "$health" "$url"
  done
  if [ -f "$dir/pg/data/postmaster.pid" ] && pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; then
    echo "postgresql: up on 127.0.0.1:$PG_PORT"
    echo "membership ($CLUSTER_ID):"
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d smpc -P pager=off -c \
      "SELECT siloname AS silo, address || ':' || port AS endpoint, generation,
              CASE status WHEN 1 THEN 'created' WHEN 2 THEN 'joining' WHEN 3 THEN 'active' WHEN 4 THEN 'shutting-down'
                          WHEN 5 THEN 'stopping' WHEN 6 THEN 'dead' ELSE status::text END AS status,
              proxyport AS gateway, iamalivetime AS i_am_alive
         FROM orleansmembershiptable WHERE deploymentid = '$CLUSTER_ID'
        ORDER BY status, siloname, generation DESC"
  else
    echo "postgresql: down (127.0.0.1:$PG_PORT)"
  fi
}

case "$cmd" in
  up) up ;;
  down) down ;;
  status) status ;;
  kill) load_env; stop_one "$name" KILL; echo "$name killed" ;;
  stop) load_env; stop_one "$name" TERM; echo "$name stopped" ;;
  start) load_env; launch "$name"; ready "$name"; echo "$name ready at $(url_of "$name")" ;;
  pg-stop) load_env; pg stop "$dir/pg"; echo "postgresql stopped" ;;
  pg-start) load_env; SMPC_PG_MAX_CONNECTIONS=${SMPC_PG_MAX_CONNECTIONS:-200} pg start "$dir/pg" "$PG_PORT" >/dev/null; echo "postgresql started" ;;
esac
