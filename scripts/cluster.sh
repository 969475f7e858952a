#!/usr/bin/env bash
# Tavolo's multi-node topology on loopback, for machines without Docker and
# for the tests: PostgreSQL, N tavolo-server nodes and nginx in front (the
# routing of deploy/nginx/tavolo.conf, the same as docker-compose.yml's), all
# on free 127.0.0.1 ports, all under one throwaway directory.
#
#   scripts/cluster.sh start [--nodes N] [--dir DIR] [--bin PATH] [-- SERVER_ARGS...]
#   scripts/cluster.sh stop [--dir DIR] [--keep]     stop everything, remove DIR (--keep: keep it)
#   scripts/cluster.sh status [--dir DIR]            what runs; exits 1 unless all is up
#   scripts/cluster.sh kill-node K [--dir DIR]       SIGKILL node K (failover by hand)
#   scripts/cluster.sh start-node K [--dir DIR]      start node K again, same options and port
#   scripts/cluster.sh check-compose                 docker-compose.yml validates (offline)
#   scripts/cluster.sh check-nginx                   `nginx -t` on every nginx configuration shipped
#
# `start` makes DIR (default: a new directory under $TMPDIR), prints the
# cluster's variables as KEY=VALUE lines on stdout and writes them to
# DIR/cluster.env, for tests to source or parse: CLUSTER_DIR, NODES,
# NGINX_URL, NGINX_PID, NGINX_ACCESS_LOG (each line names the node that
# served it: upstream=127.0.0.1:Pk), NGINX_ERROR_LOG, NODEk_URL, NODEk_PID,
# NODEk_LOG, NODEk_DATA, PG_URL, PG_ADMIN_URL, PG_PORT, PG_DATA, PG_PID,
# TAVOLO_BIN (k = 1..NODES; PIDs are updated by kill-node and start-node,
# empty for a node that is down). Progress and errors go
# to stderr. If anything fails to come up, `start` stops what it started,
# shows the logs' last lines and removes DIR. The other commands find the
# cluster with --dir, else $TAVOLO_CLUSTER_DIR.
#
# Node k runs `tavolo-server --addr 127.0.0.1:Pk --data-dir DIR/nodek/data
# --web-dir web/dist --database-url PG_URL --node-id nodek --advertise-url
# http://127.0.0.1:Pk --trusted-proxies 127.0.0.1/32 SERVER_ARGS...`; its
# log is DIR/nodek/server.log. Nodes inherit the environment, so
# TAVOLO_NO_RATE_LIMITS=true, RUST_LOG=debug etc. apply to all of them.
#
# Environment: TAVOLO_BIN (server binary, default target/release/tavolo-server,
# not built by this script), TAVOLO_CLUSTER_SQLITE_ONLY=1 (run nodes that do
# not know the multi-node options yet: each node keeps its own SQLite and
# PostgreSQL is started but unused), PG_BINDIR, NGINX (binaries; found by
# default), TAVOLO_CLUSTER_NGINX_CONNECTIONS (nginx worker_connections,
# default 8192), TAVOLO_CLUSTER_START_TIMEOUT (seconds per component, 60).
# Needs PostgreSQL, nginx and curl (scripts/cluster-deps.sh installs them).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
NGINX_SITE=$ROOT/deploy/nginx/tavolo.conf
NGINX_MAIN_TEMPLATE=$ROOT/deploy/nginx/loopback.conf.template
COMPOSE_FILE=$ROOT/docker-compose.yml
TLS_SAMPLE=$ROOT/docs/deploy/nginx-tls.conf
MARKER=.tavolo-cluster
DB_NAME=tavolo
START_TIMEOUT=${TAVOLO_CLUSTER_START_TIMEOUT:-60}

log() { printf 'cluster: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
  exit "${1:-2}"
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# ---------------------------------------------------------------- tools

find_nginx() {
  if [ -z "${NGINX:-}" ]; then
    NGINX=$(command -v nginx || true)
    # /usr/sbin is not in every user's PATH.
    if [ -z "$NGINX" ] && [ -x /usr/sbin/nginx ]; then NGINX=/usr/sbin/nginx; fi
  fi
  if [ -z "$NGINX" ] || [ ! -x "$NGINX" ]; then die "nginx not found (run scripts/cluster-deps.sh)"; fi
}

find_pg() {
  if [ -z "${PG_BINDIR:-}" ]; then
    local d
    # Debian keeps each major version's programs out of PATH.
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4,4 -n -r); do
      if [ -x "$d/initdb" ]; then PG_BINDIR=$d; break; fi
    done
  fi
  if [ -z "${PG_BINDIR:-}" ] && command -v initdb >/dev/null 2>&1; then
    PG_BINDIR=$(dirname "$(readlink -f "$(command -v initdb)")")
  fi
  [ -n "${PG_BINDIR:-}" ] && [ -x "$PG_BINDIR/initdb" ] && [ -x "$PG_BINDIR/pg_ctl" ] \
    || die "PostgreSQL's initdb/pg_ctl not found (run scripts/cluster-deps.sh, or set PG_BINDIR)"
  [ -x "$PG_BINDIR/psql" ] || die "psql not found in $PG_BINDIR"
}

need_curl() { command -v curl >/dev/null 2>&1 || die "curl not found (run scripts/cluster-deps.sh)"; }

# PostgreSQL refuses to run as root: as root, its programs run as `postgres`.
as_pg() {
  if is_root; then
    id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' user (Debian's postgresql package makes it)"
    (cd "$DIR" && runuser -u postgres -- "$@")
  else
    (cd "$DIR" && "$@")
  fi
}

# ---------------------------------------------------------------- ports

TAKEN=" "
port_is_free() {
  local p=$1
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket,sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$p" 2>/dev/null
  else
    ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null
  fi
}

# free_port VAR: a free loopback port below the kernel's ephemeral range (so
# outgoing connections do not take it before the server binds it), not
# handed out before by this script.
free_port() {
  local p _
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 12000))
    case $TAKEN in *" $p "*) continue ;; esac
    if port_is_free "$p"; then
      TAKEN+="$p "
      printf -v "$1" '%s' "$p"
      return 0
    fi
  done
  die "no free port found"
}

# ---------------------------------------------------------------- processes

# alive PID: the process exists and is not a zombie.
alive() {
  local pid=$1 state
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

# ours PID: alive, and started for this cluster (its command line names DIR),
# so a recycled pid is never signalled.
ours() {
  alive "$1" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$DIR/"
}

# wait_gone PID SECONDS
wait_gone() {
  local pid=$1 deadline=$((SECONDS + $2))
  while alive "$pid"; do
    [ $SECONDS -ge "$deadline" ] && return 1
    sleep 0.1
  done
}

# stop_pid PID NAME: SIGTERM, then SIGKILL after 15 s.
stop_pid() {
  local pid=$1 name=$2
  ours "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" 15; then
    log "$name (pid $pid) ignored SIGTERM for 15 s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 5 || log "$name (pid $pid) is still there"
  fi
}

# wait_http URL PID NAME: until URL answers 2xx, PID dies, or the timeout.
wait_http() {
  local url=$1 pid=$2 name=$3 deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    if curl -fsS --noproxy '*' -o /dev/null --max-time 2 "$url" 2>/dev/null; then
      return 0
    fi
    if [ -n "$pid" ] && ! alive "$pid"; then
      log "$name exited before answering $url"
      return 1
    fi
    if [ $SECONDS -ge "$deadline" ]; then
      log "$name did not answer $url within ${START_TIMEOUT}s"
      return 1
    fi
    sleep 0.2
  done
}

http_status() {
  curl -sS --noproxy '*' -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2>/dev/null || true
}

# ---------------------------------------------------------------- cluster state
# DIR/.tavolo-cluster         marker (stop removes only a directory holding it)
# DIR/nodes                   N
# DIR/pg/                     PostgreSQL's data directory; DIR/pg.port, DIR/postgres.log
# DIR/nodeK/                  port, pid, cmd (NUL-separated argv), server.log, data/
# DIR/nginx/                  port, pid, nginx.conf, tavolo.conf, logs, tmp/
# DIR/cluster.env             generated from the above

check_dir_name() {
  [[ $1 =~ ^/[A-Za-z0-9_./+-]+$ ]] \
    || die "cluster directory must be an absolute path of letters, digits and _ . / + - (got '$1')"
}

resolve_dir() {
  DIR=${DIR:-${TAVOLO_CLUSTER_DIR:-}}
  [ -n "$DIR" ] || die "which cluster? give --dir DIR or set TAVOLO_CLUSTER_DIR"
  local given=$DIR
  DIR=$(cd "$given" 2>/dev/null && pwd) || die "no cluster directory $given"
  [ -f "$DIR/$MARKER" ] || die "$DIR is not a cluster directory (no $MARKER)"
}

read_file() { [ -f "$1" ] && cat "$1" || true; }

pg_pid() { [ -f "$DIR/pg/postmaster.pid" ] && head -n1 "$DIR/pg/postmaster.pid" || true; }

write_env() {
  local n k tmp=$DIR/cluster.env.tmp pg_port nginx_port
  n=$(read_file "$DIR/nodes")
  pg_port=$(read_file "$DIR/pg.port")
  nginx_port=$(read_file "$DIR/nginx/port")
  {
    echo "CLUSTER_DIR=$DIR"
    echo "NODES=$n"
    echo "NGINX_URL=http://127.0.0.1:$nginx_port"
    echo "NGINX_PID=$(read_file "$DIR/nginx/pid")"
    echo "NGINX_ACCESS_LOG=$DIR/nginx/access.log"
    echo "NGINX_ERROR_LOG=$DIR/nginx/error.log"
    for k in $(seq 1 "$n"); do
      echo "NODE${k}_URL=http://127.0.0.1:$(read_file "$DIR/node$k/port")"
      echo "NODE${k}_PID=$(read_file "$DIR/node$k/pid")"
      echo "NODE${k}_LOG=$DIR/node$k/server.log"
      echo "NODE${k}_DATA=$DIR/node$k/data"
    done
    echo "PG_URL=postgres://postgres@127.0.0.1:$pg_port/$DB_NAME"
    echo "PG_ADMIN_URL=postgres://postgres@127.0.0.1:$pg_port/postgres"
    echo "PG_PORT=$pg_port"
    echo "PG_DATA=$DIR/pg"
    echo "PG_PID=$(pg_pid)"
    echo "TAVOLO_BIN=$(read_file "$DIR/bin")"
  } >"$tmp"
  mv "$tmp" "$DIR/cluster.env"
}

# teardown [discard]: stops whatever of the cluster runs: nginx first, then
# the nodes (they may hand their sessions back while PostgreSQL is still
# up), then PostgreSQL (at once with `discard`: its data is about to go).
teardown() {
  local k pid
  pid=$(read_file "$DIR/nginx/pid")
  [ -n "$pid" ] && stop_pid "$pid" nginx
  sweep_nginx_workers
  for k in $(ls -d "$DIR"/node* 2>/dev/null | sed 's/.*node//' | sort -n); do
    pid=$(read_file "$DIR/node$k/pid")
    [ -n "$pid" ] && stop_pid "$pid" "node$k"
  done
  if [ -f "$DIR/pg/postmaster.pid" ]; then
    pid=$(pg_pid)
    # A cluster about to be removed needs no shutdown checkpoint.
    local mode=fast
    [ "${1:-}" = discard ] && mode=immediate
    if ! as_pg "$PG_BINDIR/pg_ctl" -D "$DIR/pg" -m "$mode" -w -t 30 stop >/dev/null 2>&1; then
      log "pg_ctl stop failed"
      [ -n "$pid" ] && ours "$pid" && kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
}

# nginx workers outlive a master killed with SIGKILL, listening still. Ours
# are the nginx processes holding files under DIR/nginx open.
sweep_nginx_workers() {
  local p fd
  for p in /proc/[0-9]*; do
    [ "$(cat "$p/comm" 2>/dev/null)" = nginx ] || continue
    for fd in "$p"/fd/*; do
      case $(readlink "$fd" 2>/dev/null) in
        "$DIR/nginx/"*)
          log "nginx worker ${p#/proc/} outlived its master: SIGKILL"
          kill -KILL "${p#/proc/}" 2>/dev/null || true
          break
          ;;
      esac
    done
  done
}

show_logs() {
  local f
  for f in "$DIR"/node*/server.log "$DIR/nginx/stderr.log" "$DIR/nginx/error.log" "$DIR/postgres.log"; do
    [ -s "$f" ] || continue
    log "---- last lines of ${f#"$DIR"/}"
    tail -n 25 "$f" >&2
  done
}

# ---------------------------------------------------------------- nginx configuration

# render_site SRC OUT LISTEN LOGDIR PORT...: deploy/nginx/tavolo.conf with its
# nodes replaced by 127.0.0.1:PORT..., `listen 80` by LISTEN and nginx's log
# directory by LOGDIR. Fails if the markers or the listen line moved.
render_site() {
  local src=$1 out=$2 listen=$3 logdir=$4
  shift 4
  awk -v ports="$*" -v listen="$listen" -v logdir="$logdir" '
    BEGIN { n = split(ports, p, " "); inside = 0; begins = 0; ends = 0; listens = 0; params = "" }
    /# tavolo-nodes-begin/ { inside = 1; begins++; print; next }
    /# tavolo-nodes-end/ {
      inside = 0; ends++
      if (params == "") params = ";"
      for (i = 1; i <= n; i++) printf "    server 127.0.0.1:%s%s\n", p[i], params
      print; next
    }
    inside {
      if (params == "" && $1 == "server") {
        params = $0; sub(/^[ \t]*server[ \t]+[^ \t;]+/, "", params)
      }
      next
    }
    /^[ \t]*listen[ \t]+80;/ { listens++; print "    listen " listen ";"; next }
    { gsub("/var/log/nginx/", logdir "/"); print }
    END {
      if (begins != 1 || ends != 1 || listens != 1) {
        print "render_site: expected one tavolo-nodes block and one `listen 80;` line" > "/dev/stderr"
        exit 1
      }
    }' "$src" >"$out"
}

# render_main NGINX_DIR OUT: the loopback main configuration.
render_main() {
  local ndir=$1 out=$2 user_line="" conns=${TAVOLO_CLUSTER_NGINX_CONNECTIONS:-8192}
  if is_root; then
    # Workers drop to nobody; Debian's group for it is nogroup.
    user_line="user nobody $(id -gn nobody 2>/dev/null || echo nogroup);"
  fi
  sed -e "s#@NGINX_DIR@#$ndir#g" \
      -e "s#@USER_LINE@#$user_line#" \
      -e "s#@WORKER_CONNECTIONS@#$conns#" \
      -e "s#@RLIMIT_NOFILE@#$((conns * 2 + 64))#" \
      "$NGINX_MAIN_TEMPLATE" >"$out"
}

# ---------------------------------------------------------------- commands

NODES=2
KEEP=false
BIN=""
SERVER_ARGS=()

start_node() {
  local k=$1 ndir=$DIR/node$1 pid
  local -a cmd
  mapfile -d '' cmd <"$ndir/cmd"
  # Plain text in the log file (tracing colours its output unless NO_COLOR).
  NO_COLOR=${NO_COLOR:-1} "${cmd[@]}" </dev/null >>"$ndir/server.log" 2>&1 &
  pid=$!
  echo "$pid" >"$ndir/pid"
  wait_http "http://127.0.0.1:$(cat "$ndir/port")/healthz" "$pid" "node$k" || return 1
  log "node$k up: http://127.0.0.1:$(cat "$ndir/port") (pid $pid)"
}

cmd_start() {
  local k
  [[ $NODES =~ ^[1-9]$ ]] || die "--nodes takes 1 to 9"
  BIN=${BIN:-${TAVOLO_BIN:-$ROOT/target/release/tavolo-server}}
  [ -x "$BIN" ] || die "no server binary at $BIN (cargo build --release -p tavolo-server, or set TAVOLO_BIN)"
  BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
  find_nginx
  find_pg
  need_curl

  # Which of the multi-node options this binary knows.
  local help missing=() opt sqlite_only=false
  help=$("$BIN" --help 2>&1) || die "$BIN --help failed"
  for opt in database-url node-id advertise-url trusted-proxies; do
    grep -q -- "--$opt" <<<"$help" || missing+=("--$opt")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "${TAVOLO_CLUSTER_SQLITE_ONLY:-}" = 1 ]; then
      log "$BIN lacks ${missing[*]}: left out (TAVOLO_CLUSTER_SQLITE_ONLY=1)"
      grep -q -- '--database-url' <<<"$help" || sqlite_only=true
    else
      die "$BIN lacks ${missing[*]} (an older build?); TAVOLO_CLUSTER_SQLITE_ONLY=1 runs it anyway, each node on its own SQLite"
    fi
  fi

  if [ -n "${DIR:-}" ]; then
    [[ $DIR = /* ]] || DIR=$PWD/$DIR
    check_dir_name "$DIR"
    if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
      die "$DIR exists and is not empty"
    fi
    mkdir -p "$DIR"
  else
    DIR=$(mktemp -d "${TMPDIR:-/tmp}/tavolo-cluster.XXXXXX")
  fi
  DIR=$(cd "$DIR" && pwd)
  check_dir_name "$DIR"
  : >"$DIR/$MARKER"
  # PostgreSQL (as root: its own user) and nginx's workers go through it.
  chmod 755 "$DIR"
  echo "$NODES" >"$DIR/nodes"
  echo "$BIN" >"$DIR/bin"

  STARTED=false
  # shellcheck disable=SC2317  # reached through the trap
  on_exit() {
    local rc=$?
    $STARTED && return 0
    # Clean up even if stderr is gone (a closed pipe must not stop us).
    set +e
    trap '' PIPE
    log "start failed (status $rc); stopping what was started"
    show_logs
    if $KEEP; then teardown || true; else teardown discard || true; fi
    if $KEEP; then log "kept $DIR"; else rm -rf "$DIR"; fi
  }
  trap on_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  # PostgreSQL: a throwaway cluster, trust authentication on 127.0.0.1 only.
  local pg_port
  free_port pg_port
  echo "$pg_port" >"$DIR/pg.port"
  mkdir -p "$DIR/pg"
  : >"$DIR/postgres.log"
  if is_root; then
    chown postgres: "$DIR/pg" "$DIR/postgres.log"
    as_pg test -w "$DIR/pg" \
      || die "user postgres cannot write $DIR/pg (is a parent directory private? use --dir under /tmp)"
  fi
  chmod 700 "$DIR/pg"
  log "PostgreSQL on 127.0.0.1:$pg_port"
  as_pg "$PG_BINDIR/initdb" -D "$DIR/pg" -A trust -U postgres -E UTF8 --locale=C --no-sync \
    >"$DIR/initdb.log" 2>&1 || { tail -n 25 "$DIR/initdb.log" >&2; die "initdb failed"; }
  as_pg "$PG_BINDIR/pg_ctl" -D "$DIR/pg" -l "$DIR/postgres.log" -w -t "$START_TIMEOUT" \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $DIR/pg -c max_connections=200" \
    start >/dev/null || die "PostgreSQL did not start"
  "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres \
    -c "CREATE DATABASE $DB_NAME" >/dev/null || die "could not create database $DB_NAME"
  local pg_url="postgres://postgres@127.0.0.1:$pg_port/$DB_NAME"

  # The nodes.
  local ports=() port ndir
  for k in $(seq 1 "$NODES"); do
    free_port port
    ports+=("$port")
    ndir=$DIR/node$k
    mkdir -p "$ndir/data"
    echo "$port" >"$ndir/port"
    local -a cmd=("$BIN" --addr "127.0.0.1:$port" --data-dir "$ndir/data" --web-dir "$ROOT/web/dist")
    if ! $sqlite_only; then cmd+=(--database-url "$pg_url"); fi
    grep -q -- '--node-id' <<<"$help" && cmd+=(--node-id "node$k")
    grep -q -- '--advertise-url' <<<"$help" && cmd+=(--advertise-url "http://127.0.0.1:$port")
    grep -q -- '--trusted-proxies' <<<"$help" && cmd+=(--trusted-proxies 127.0.0.1/32)
    cmd+=("${SERVER_ARGS[@]}")
    printf '%s\0' "${cmd[@]}" >"$ndir/cmd"
    start_node "$k" || die "node$k did not come up"
  done

  # nginx in front.
  local nginx_port ndir=$DIR/nginx
  free_port nginx_port
  mkdir -p "$ndir/tmp"
  echo "$nginx_port" >"$ndir/port"
  render_site "$NGINX_SITE" "$ndir/tavolo.conf" "127.0.0.1:$nginx_port" "$ndir" "${ports[@]}" \
    || die "could not render $NGINX_SITE"
  render_main "$ndir" "$ndir/nginx.conf"
  "$NGINX" -t -q -p "$ndir/" -c "$ndir/nginx.conf" -e "$ndir/error.log" >>"$ndir/stderr.log" 2>&1 \
    || die "nginx -t failed on $ndir/nginx.conf"
  "$NGINX" -p "$ndir/" -c "$ndir/nginx.conf" -e "$ndir/error.log" </dev/null >>"$ndir/stderr.log" 2>&1 &
  echo $! >"$ndir/pid"
  wait_http "http://127.0.0.1:$nginx_port/healthz" "$(cat "$ndir/pid")" nginx || die "nginx did not come up"
  log "nginx up: http://127.0.0.1:$nginx_port (pid $(cat "$ndir/pid"))"

  write_env
  STARTED=true
  trap - EXIT INT TERM
  log "cluster ready in $DIR; stop it with: scripts/cluster.sh stop --dir $DIR"
  cat "$DIR/cluster.env"
}

cmd_stop() {
  resolve_dir
  find_pg
  if $KEEP; then teardown; else teardown discard; fi
  if $KEEP; then
    write_env
    log "stopped; kept $DIR"
  else
    rm -rf "$DIR"
    log "stopped; removed $DIR"
  fi
}

node_arg() {
  [[ ${1:-} =~ ^[1-9]$ ]] || die "which node? give its number (1 to 9)"
  [ -d "$DIR/node$1" ] || die "no node$1 in $DIR"
}

cmd_kill_node() {
  local k=$1 pid
  resolve_dir
  node_arg "$k"
  pid=$(read_file "$DIR/node$k/pid")
  if [ -n "$pid" ] && ours "$pid"; then
    kill -KILL "$pid"
    wait_gone "$pid" 5 || die "node$k (pid $pid) survived SIGKILL"
    log "node$k (pid $pid) killed"
  else
    log "node$k was not running"
  fi
  : >"$DIR/node$k/pid"
  write_env
}

cmd_start_node() {
  local k=$1 pid
  resolve_dir
  node_arg "$k"
  pid=$(read_file "$DIR/node$k/pid")
  if [ -n "$pid" ] && ours "$pid"; then die "node$k is running (pid $pid)"; fi
  need_curl
  start_node "$k" || { tail -n 25 "$DIR/node$k/server.log" >&2; die "node$k did not come up"; }
  write_env
}

cmd_status() {
  local k pid ok=true url code state
  resolve_dir
  row() { printf '%-9s %-8s %-5s %s\n' "$@"; }
  pid=$(pg_pid)
  if [ -n "$pid" ] && alive "$pid"; then state=up; else state=down; ok=false; fi
  row postgres "${pid:--}" "$state" "postgres://postgres@127.0.0.1:$(read_file "$DIR/pg.port")/$DB_NAME"
  for k in $(seq 1 "$(read_file "$DIR/nodes")"); do
    pid=$(read_file "$DIR/node$k/pid")
    url=http://127.0.0.1:$(read_file "$DIR/node$k/port")
    if [ -n "$pid" ] && ours "$pid"; then
      code=$(http_status "$url/healthz")
      state=up
      [ "$code" = 200 ] || ok=false
    else
      code=-; state=down; ok=false
    fi
    row "node$k" "${pid:--}" "$state" "$url healthz=$code"
  done
  pid=$(read_file "$DIR/nginx/pid")
  url=http://127.0.0.1:$(read_file "$DIR/nginx/port")
  if [ -n "$pid" ] && ours "$pid"; then
    code=$(http_status "$url/healthz"); state=up
    [ "$code" = 200 ] || ok=false
  else
    code=-; state=down; ok=false
  fi
  row nginx "${pid:--}" "$state" "$url healthz=$code"
  $ok
}

cmd_check_compose() {
  local dc
  if command -v docker-compose >/dev/null 2>&1; then
    dc=(docker-compose)
  elif docker compose version >/dev/null 2>&1; then
    dc=(docker compose)
  else
    die "docker-compose not found (run scripts/cluster-deps.sh)"
  fi
  # Offline: `config` parses, validates and interpolates; it needs no daemon.
  (cd "$ROOT" && "${dc[@]}" -f "$COMPOSE_FILE" config -q) || die "docker-compose.yml does not validate"
  local s services
  services=$(cd "$ROOT" && "${dc[@]}" -f "$COMPOSE_FILE" config --services)
  for s in postgres node1 node2 nginx; do
    grep -qx "$s" <<<"$services" || die "docker-compose.yml has no service $s"
  done
  # `config` does not look at the files the services mount or build from.
  local path
  while read -r path; do
    [ -e "$path" ] || die "docker-compose.yml mounts $path, which does not exist"
  done < <(cd "$ROOT" && "${dc[@]}" -f "$COMPOSE_FILE" config | sed -n 's#^ *- \(/[^:]*\):.*#\1#p')
  [ -f "$ROOT/Dockerfile" ] || die "docker-compose.yml builds from a Dockerfile, and there is none"
  log "docker-compose.yml: valid ($("${dc[@]}" version --short 2>/dev/null || echo compose))"
}

# nginx -t on: deploy/nginx/tavolo.conf as the loopback cluster renders it;
# the same file as docker-compose.yml mounts it, node1/node2 resolved through
# a private /etc/hosts when this machine allows a mount namespace; and
# docs/deploy/nginx-tls.conf with a throwaway self-signed certificate.
cmd_check_nginx() {
  find_nginx
  local tmp
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/tavolo-nginx-check.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  chmod 755 "$tmp"
  mkdir -p "$tmp/tmp"

  # 1. The loopback rendering.
  render_site "$NGINX_SITE" "$tmp/tavolo.conf" 127.0.0.1:18080 "$tmp" 18081 18082
  render_main "$tmp" "$tmp/nginx.conf"
  "$NGINX" -t -q -p "$tmp/" -c "$tmp/nginx.conf" -e "$tmp/error.log" \
    || die "deploy/nginx/tavolo.conf (loopback rendering) fails nginx -t"
  log "deploy/nginx/tavolo.conf, loopback rendering: nginx -t ok"

  # A wrapper standing for the nginx image's /etc/nginx/nginx.conf.
  wrapper() { # SITE_FILE
    cat <<EOF
$(is_root && echo "user nobody $(id -gn nobody 2>/dev/null || echo nogroup);")
pid $tmp/nginx.pid;
error_log $tmp/error.log;
events { worker_connections 1024; }
http {
    client_body_temp_path $tmp/tmp/body;
    proxy_temp_path $tmp/tmp/proxy;
    fastcgi_temp_path $tmp/tmp/fastcgi;
    uwsgi_temp_path $tmp/tmp/uwsgi;
    scgi_temp_path $tmp/tmp/scgi;
    access_log $tmp/access.log;
    include $1;
}
EOF
  }

  # 2. The file exactly as compose mounts it (log path aside).
  sed "s#/var/log/nginx/#$tmp/#g" "$NGINX_SITE" >"$tmp/compose-site.conf"
  wrapper "$tmp/compose-site.conf" >"$tmp/compose.conf"
  printf '127.0.0.1 localhost\n127.0.0.1 node1\n127.0.0.1 node2\n' >"$tmp/hosts"
  if is_root && unshare -m true 2>/dev/null; then
    unshare -m sh -c 'mount --bind "$1" /etc/hosts && exec "$2" -t -q -p "$3/" -c "$3/compose.conf" -e "$3/error.log"' \
      sh "$tmp/hosts" "$NGINX" "$tmp" \
      || die "deploy/nginx/tavolo.conf (as docker-compose mounts it) fails nginx -t"
    log "deploy/nginx/tavolo.conf, as docker-compose mounts it: nginx -t ok"
  else
    log "deploy/nginx/tavolo.conf as docker-compose mounts it: skipped (node1/node2 do not resolve here)"
  fi

  # 3. The TLS sample, with a self-signed certificate in place of certbot's.
  if command -v openssl >/dev/null 2>&1; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=tavolo.example \
      -keyout "$tmp/privkey.pem" -out "$tmp/fullchain.pem" >/dev/null 2>&1
    cp "$tmp/fullchain.pem" "$tmp/chain.pem"
    sed -e "s#/etc/letsencrypt/live/[^/]*/#$tmp/#g" -e "s#/var/log/nginx/#$tmp/#g" \
      "$TLS_SAMPLE" >"$tmp/tls-site.conf"
    wrapper "$tmp/tls-site.conf" >"$tmp/tls.conf"
    "$NGINX" -t -q -p "$tmp/" -c "$tmp/tls.conf" -e "$tmp/error.log" \
      || die "docs/deploy/nginx-tls.conf fails nginx -t"
    log "docs/deploy/nginx-tls.conf: nginx -t ok"
  else
    log "docs/deploy/nginx-tls.conf: skipped (no openssl)"
  fi
}

# ---------------------------------------------------------------- arguments

[ $# -ge 1 ] || usage
command=$1
shift
POSITIONAL=()
while [ $# -gt 0 ]; do
  case $1 in
    --nodes) NODES=${2:?--nodes needs a number}; shift 2 ;;
    --nodes=*) NODES=${1#*=}; shift ;;
    --dir) DIR=${2:?--dir needs a directory}; shift 2 ;;
    --dir=*) DIR=${1#*=}; shift ;;
    --bin) BIN=${2:?--bin needs a path}; shift 2 ;;
    --bin=*) BIN=${1#*=}; shift ;;
    --keep) KEEP=true; shift ;;
    -h|--help) usage 0 ;;
    --) shift; SERVER_ARGS=("$@"); break ;;
    -*) die "unknown option $1" ;;
    *) POSITIONAL+=("$1"); shift ;;
  esac
done

case $command in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  kill-node) cmd_kill_node "${POSITIONAL[0]:-}" ;;
  start-node) cmd_start_node "${POSITIONAL[0]:-}" ;;
  check-compose) cmd_check_compose ;;
  check-nginx) cmd_check_nginx ;;
  -h|--help|help) usage 0 ;;
  *) log "unknown command $command"; usage ;;
esac
