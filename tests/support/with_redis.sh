#!/usr/bin/env bash
# Runs a command with throwaway redis-server instances on loopback ports, then stops them.
#
#   tests/support/with_redis.sh [options] -- command [args...]
#
# Options:
#   --port P             port of the standalone server (default: a free one)
#   --requirepass PW     the standalone server requires this password
#   --no-standalone      no standalone server (with --cluster)
#   --cluster N          also start a cluster of N masters (no replicas)
#   --cluster-ports L    their ports, comma-separated (default: free ones)
#   --timeout S          stop the command after S seconds (SIGTERM, SIGKILL 5 s later)
#
# The command sees:
#   REDIS_PORT           the standalone server's port
#   REDIS_CLUSTER_PORTS  the cluster's ports, comma-separated
#   REDIS_CTL            a control script: "$REDIS_CTL kill PORT" kills that server (SIGKILL)
#                        and waits until it is gone; "$REDIS_CTL start PORT" starts it again
#                        with the same options and data directory and waits until it answers
#                        PING; "$REDIS_CTL restart PORT" does both
#
# Each server runs in the foreground of a background process, without persistence, bound to
# 127.0.0.1, in a private directory under one temporary directory. On exit (also on failure
# or a signal) every server started here or by REDIS_CTL is stopped and the directory is
# removed. The exit status is the command's, or 1 when the servers could not be started.
set -euo pipefail

die() {
  echo "with_redis.sh: $*" >&2
  exit 1
}

standalone=1
port=""
password=""
cluster=0
cluster_ports=""
run_timeout=""
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port=$2; shift 2 ;;
    --requirepass) password=$2; shift 2 ;;
    --no-standalone) standalone=0; shift ;;
    --cluster) cluster=$2; shift 2 ;;
    --cluster-ports) cluster_ports=$2; shift 2 ;;
    --timeout) run_timeout=$2; shift 2 ;;
    --) shift; break ;;
    *) die "unknown option $1" ;;
  esac
done
[ $# -gt 0 ] || die "usage: with_redis.sh [options] -- command [args...]"

for tool in redis-server redis-cli; do
  command -v "$tool" >/dev/null ||
    die "$tool not found: install redis-server and redis-tools (scripts/deps.sh does)"
done

root=$(mktemp -d "${TMPDIR:-/tmp}/starling-redis.XXXXXX")

# Every server's files live in $root/<port>/: its data directory, redis.pid (the process we
# started), args (its command line, one argument per line) and log.
stop_all() {
  local pidfile pid i
  for pidfile in "$root"/*/redis.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pidfile in "$root"/*/redis.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    for ((i = 0; i < 100; i++)); do
      alive "$pid" || break
      sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$root"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# The control script used by the command (and by this script to launch servers).
ctl="$root/redis-ctl"
cat >"$ctl" <<'CTL'
#!/usr/bin/env bash
# redis-ctl kill|start|restart PORT (written by tests/support/with_redis.sh, which also
# sources it for the functions)
set -euo pipefail
ctl_root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

cli() {
  local port=$1 pw
  shift
  pw=$(cat "$ctl_root/$port/password" 2>/dev/null || true)
  if [ -n "$pw" ]; then
    timeout 5 redis-cli --no-auth-warning -a "$pw" -h 127.0.0.1 -p "$port" "$@"
  else
    timeout 5 redis-cli -h 127.0.0.1 -p "$port" "$@"
  fi
}

# A process counts as gone when it has exited, even if nobody reaped it yet.
alive() {
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

do_kill() {
  local dir="$ctl_root/$1" pid
  pid=$(cat "$dir/redis.pid" 2>/dev/null || true)
  [ -n "$pid" ] || return 0
  kill -KILL "$pid" 2>/dev/null || true
  while alive "$pid"; do sleep 0.02; done
  rm -f "$dir/redis.pid"
}

# Starts the server; fails with status 2 if it exits at once (e.g. its port is taken).
do_start() {
  local port=$1 dir="$ctl_root/$1" args pid i
  mapfile -t args <"$dir/args"
  redis-server "${args[@]}" >>"$dir/log" 2>&1 </dev/null &
  pid=$!
  disown "$pid" # no "Killed" job report when REDIS_CTL kills it
  echo "$pid" >"$dir/redis.pid"
  for ((i = 0; i < 500; i++)); do
    if ! alive "$pid"; then
      rm -f "$dir/redis.pid"
      return 2
    fi
    # the answer must come from our process, not from a server that held the port before
    if [ "$(cli "$port" info server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p')" = "$pid" ]; then
      return 0
    fi
    sleep 0.02
  done
  echo "redis-ctl: redis-server on port $port did not answer within 10 s" >&2
  return 1
}

[ "${BASH_SOURCE[0]}" = "$0" ] || return 0
[ -f "$ctl_root/${2:-}/args" ] || { echo "redis-ctl: no server on port ${2:-}" >&2; exit 1; }
case "$1" in
  kill) do_kill "$2" ;;
  start) do_start "$2" ;;
  restart) do_kill "$2"; do_start "$2" ;;
  *) echo "redis-ctl: unknown action $1" >&2; exit 1 ;;
esac
CTL
chmod +x "$ctl"
# shellcheck source=/dev/null
source "$ctl"

# Ports are taken below the kernel's ephemeral range, together with port + 10000 (a cluster
# node's bus port), so that no outgoing connection's local end can hold them.
read -r eph_low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || eph_low=32768
port_min=10000
port_max=$((eph_low - 10001))
[ "$port_max" -gt "$port_min" ] || port_max=$((port_min + 9999))

# start_server PORT-OR-EMPTY PASSWORD-OR-EMPTY ARGS... : sets started_port. Runs in this
# shell (not in a $(...) subshell), so that this script stays the parent of the server.
start_server() {
  local want=$1 pw=$2 p attempt status
  shift 2
  [ -z "$pw" ] || set -- "$@" --requirepass "$pw"
  for ((attempt = 0; attempt < 30; attempt++)); do
    p=${want:-$((port_min + (RANDOM * 32768 + RANDOM) % (port_max - port_min + 1)))}
    [ -e "$root/$p" ] && continue
    mkdir -p "$root/$p/data"
    printf '%s\n' --port "$p" --bind 127.0.0.1 --daemonize no --save '' --appendonly no \
      --dir "$root/$p/data" --logfile '' "$@" >"$root/$p/args"
    [ -z "$pw" ] || echo "$pw" >"$root/$p/password"
    status=0
    do_start "$p" || status=$?
    if [ $status -eq 0 ]; then
      started_port=$p
      return 0
    fi
    if [ $status -ne 2 ] || [ -n "$want" ]; then
      cat "$root/$p/log" >&2
      return 1
    fi
    rm -rf "${root:?}/$p" # the port was taken: try another
  done
  echo "with_redis.sh: no free port found" >&2
  return 1
}

if [ "$standalone" = 1 ]; then
  start_server "$port" "$password" || die "could not start redis-server"
  REDIS_PORT=$started_port
  export REDIS_PORT
fi

if [ "$cluster" -gt 0 ]; then
  IFS=, read -r -a fixed <<<"$cluster_ports"
  ports=()
  for ((i = 0; i < cluster; i++)); do
    start_server "${fixed[$i]:-}" "" --cluster-enabled yes --cluster-config-file nodes.conf \
      --cluster-node-timeout 5000 --cluster-require-full-coverage no ||
      die "could not start cluster node $((i + 1))"
    ports+=("$started_port")
  done
  addrs=()
  for p in "${ports[@]}"; do addrs+=("127.0.0.1:$p"); done
  timeout 60 redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes \
    >"$root/cluster-create.log" 2>&1 || {
    cat "$root/cluster-create.log" >&2
    die "redis-cli --cluster create failed"
  }
  # every node must see the whole slot map
  for p in "${ports[@]}"; do
    for ((i = 0; ; i++)); do
      state=$(timeout 5 redis-cli -h 127.0.0.1 -p "$p" cluster info 2>/dev/null | tr -d '\r' |
        sed -n 's/^cluster_state://p')
      [ "$state" = ok ] && break
      [ $i -lt 1500 ] || die "cluster node $p: cluster_state is '$state' after 30 s"
      sleep 0.02
    done
  done
  REDIS_CLUSTER_PORTS=$(IFS=,; echo "${ports[*]}")
  export REDIS_CLUSTER_PORTS
fi

export REDIS_CTL="$ctl"
[ -z "$run_timeout" ] || set -- timeout --kill-after=5 "$run_timeout" "$@"
status=0
"$@" || status=$?
exit $status
