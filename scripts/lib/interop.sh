# shellcheck shell=bash disable=SC2154 # me is the sourcing script's
# Sourced by the scripts that run Starling and skynet nodes side by side (cluster-interop.sh,
# harbor-interop.sh): nodes by name, each with its output in $work/NAME.out and its log in
# $work/NAME.log (a file of its own: print and the logger write to stdout from different
# threads, a line at a time in several pieces, so on one stream their lines could mix).
# The sourcing script sets `me` first and calls interop_setup once inside its namespace.
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

declare -A node_pid # node name -> pid
failures=0

# interop_setup KEEP: sets work, a new directory removed at exit once every node is stopped
# (kept, and named, when KEEP is not empty).
interop_setup() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/$me.XXXXXX")
  interop_keep=$1
  trap interop_cleanup EXIT
  trap 'exit 1' INT TERM # so that the nodes are stopped when the script is
}
interop_cleanup() {
  stop_nodes
  if [ -n "$interop_keep" ]; then
    echo "$me: the nodes' outputs are in $work"
  else
    rm -rf "$work"
  fi
}

# launch_node NAME DIR BINARY CONFIG [VAR=VALUE...]: starts BINARY CONFIG in DIR in the
# background with the variables and INTEROP_LOG=$work/NAME.log, its stdout line-buffered (so
# that print lines come as they are printed).
launch_node() {
  local name=$1 dir=$2 binary=$3 config=$4
  shift 4
  : >"$work/$name.out"
  : >"$work/$name.log"
  (cd "$dir" && exec env INTEROP_LOG="$work/$name.log" "$@" stdbuf -oL "$binary" "$config") \
    >"$work/$name.out" 2>&1 &
  node_pid[$name]=$!
}

# stop_node NAME...: SIGTERM to each node still running, SIGKILL to any left after 10 s.
stop_node() {
  local name pid i
  for name in "$@"; do kill -TERM "${node_pid[$name]}" 2>/dev/null || true; done
  for name in "$@"; do
    pid=${node_pid[$name]}
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "node_pid[$name]"
  done
}
stop_nodes() {
  stop_node "${!node_pid[@]}"
}

# wait_for NAME REGEX SECONDS: waits until the output or log of node NAME has a line matching
# the extended regular expression, or the node ended, or SECONDS passed. Fails if the line is
# not there.
wait_for() {
  local seconds=$3
  [ -n "${node_pid[$1]:-}" ] || seconds=0 # stopped already
  wait_grep "$seconds" "${node_pid[$1]:-}" -E -- "$2" "$work/$1.out" "$work/$1.log"
}

# fail WHAT NAME...: counts a failure and shows the output and the log of the nodes NAME...
fail() {
  local what=$1 name
  shift
  echo "$me: FAIL $what"
  for name in "$@"; do
    echo "---- output of $name"
    cat "$work/$name.out"
    echo "---- log of $name"
    cat "$work/$name.log"
  done
  echo "----"
  failures=$((failures + 1))
}

# runtime_pairs VAR: sets pairs to the runtime pairs the variable named VAR lists (default:
# all four), each RUNTIME:RUNTIME.
runtime_pairs() {
  local p
  read -ra pairs <<<"${!1:-skynet:skynet starling:skynet skynet:starling starling:starling}"
  for p in "${pairs[@]}"; do
    [[ $p =~ ^(skynet|starling):(skynet|starling)$ ]] || die "bad pair $p in $1"
  done
}
