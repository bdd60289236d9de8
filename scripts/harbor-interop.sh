#!/usr/bin/env bash
# Checks that Starling's harbor mode and real skynet's work together in one network:
#
#   scripts/harbor-interop.sh SKYNET_DIR
#
# SKYNET_DIR is a built skynet tree (its ./skynet binary, cservice/, luaclib/, lualib/,
# service/, examples/ and test/ are used in place, never copied here).
#
# For each pair of runtimes, standalone node (harbor 1, the master) : joining node (harbor 2):
# skynet:skynet (checks the harness), starling:skynet, skynet:starling, starling:starling:
# 1. tests/interop/harbor_interop_master.lua and harbor_interop_slave.lua: calls and sends by
#    handle and by global name both ways, errors, 100 000 bytes; each prints `INTEROP PASS|FAIL`
#    lines and `INTEROP [MASTER ]DONE <passed>/<checks>`.
# 2. skynet's test/testharborlink.lua on the standalone node and examples/main_log.lua (which
#    registers LOG) on the other, both unchanged: `harbor 2 connected`, `LOG = :...`, then
#    `disconnected` once the second node is stopped.
# 3. Part 1 once more on two Starling nodes that run skynet's own service/cslave.lua and
#    cmaster.lua instead of Starling's (the harbor service keeps skynet's local interface).
#
# Fixed ports (2013, 2526, 2527, as skynet's examples), so everything runs inside a private
# network namespace (unshare -n, or unshare -rn when not root). Every node logs to a file of its
# own. Environment: STARLING, the binary (default: build/release/bin/starling of this tree);
# HARBOR_INTEROP_PAIRS, the pairs to run (default: all four); HARBOR_INTEROP_KEEP=1 keeps the
# nodes' outputs. Without SKYNET_DIR the script prints a SKIP line and exits 0; a failed check
# prints the output of the nodes involved and the script exits 1.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
self="$repo/scripts/harbor-interop.sh"
die() {
  echo "harbor-interop: $*" >&2
  exit 1
}

skynet_dir=${1:-}
if [ -z "$skynet_dir" ]; then
  echo "harbor-interop: SKIP: no skynet tree given (usage: scripts/harbor-interop.sh SKYNET_DIR)"
  exit 0
fi
skynet_dir=$(cd "$skynet_dir" && pwd) || die "no directory $1"
[ -x "$skynet_dir/skynet" ] || die "no skynet binary in $skynet_dir (build skynet first)"
for f in test/testharborlink.lua examples/main_log.lua examples/globallog.lua \
  examples/simplemonitor.lua service/cslave.lua service/cmaster.lua; do
  [ -f "$skynet_dir/$f" ] || die "$skynet_dir/$f not found"
done
starling=${STARLING:-$repo/build/release/bin/starling}
[ -x "$starling" ] || die "no Starling binary at $starling (build it, or set STARLING)"
starling=$(cd "$(dirname "$starling")" && pwd)/$(basename "$starling")

case "${HARBOR_INTEROP_PHASE:-start}" in
  start)
    ns=(unshare -n)
    [ "$(id -u)" = 0 ] || ns=(unshare -rn)
    HARBOR_INTEROP_PHASE=run STARLING="$starling" exec "${ns[@]}" bash "$self" "$skynet_dir" ||
      die "cannot create a network namespace with ${ns[*]}"
    ;;
  run) ip link set lo up ;;
  *) die "unknown phase" ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/harbor-interop.XXXXXX")
pids=()
declare -A node_pid # node name -> pid
stop_node() {
  local pid=${node_pid[$1]} i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
stop_nodes() {
  local name
  for name in "${!node_pid[@]}"; do stop_node "$name"; done
  node_pid=()
}
cleanup() {
  stop_nodes
  if [ -n "${HARBOR_INTEROP_KEEP:-}" ]; then
    echo "harbor-interop: the nodes' outputs are in $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

export SKYNET_DIR="$skynet_dir" INTEROP_DIR="$repo/tests/interop" INTEROP_MASTER=127.0.0.1:2013
# Services searched before the runtime's own: none, or skynet's cslave.lua and cmaster.lua.
mkdir "$work/none" "$work/stock"
ln -s "$skynet_dir/service/cslave.lua" "$skynet_dir/service/cmaster.lua" "$work/stock/"
export INTEROP_STOCK="$work/none"

# start_node RUNTIME NAME HARBOR START: a node of harbor id HARBOR (1: the standalone one) with
# start service START, its output in $work/NAME.out, its log in $work/NAME.log.
start_node() {
  local runtime=$1 name=$2 id=$3 start=$4 root=$repo binary=$starling config=harbor.config
  [ "$runtime" = skynet ] && root=$skynet_dir binary=$skynet_dir/skynet
  [ "$id" = 1 ] && config=harbor-standalone.config
  : >"$work/$name.out"
  : >"$work/$name.log"
  (cd "$work" && exec env RUNTIME_ROOT="$root" INTEROP_LOG="$work/$name.log" \
    INTEROP_HARBOR="$id" INTEROP_ADDRESS="127.0.0.1:$((2525 + id))" INTEROP_START="$start" \
    stdbuf -oL "$binary" "$INTEROP_DIR/$config") >"$work/$name.out" 2>&1 &
  node_pid[$name]=$!
}

# wait_for NAME REGEX SECONDS: until NAME's output or log has a matching line (extended regex),
# or the node ended, or SECONDS passed; fails if the line is not there.
wait_for() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -qE -- "$2" "$work/$1.out" "$work/$1.log" && return 0
    kill -0 "${node_pid[$1]}" 2>/dev/null || break
    sleep 0.1
  done
  grep -qE -- "$2" "$work/$1.out" "$work/$1.log"
}

failures=0
fail() {
  local what=$1 name
  shift
  echo "harbor-interop: FAIL $what"
  for name in "$@"; do
    echo "---- output of $name"
    cat "$work/$name.out"
    echo "---- log of $name"
    cat "$work/$name.log"
  done
  echo "----"
  failures=$((failures + 1))
}

# done_line NAME PREFIX: checks NAME's `PREFIX <passed>/<checks>` line against its PASS lines.
done_line() {
  local line
  line=$(grep -ohE "^$2 [0-9]+/[0-9]+$" "$work/$1.out" || true)
  [ -n "$line" ] && ! grep -q '^INTEROP FAIL ' "$work/$1.out" &&
    [ "${line#"$2" }" = "$(grep -c '^INTEROP PASS ' "$work/$1.out")/${line##*/}" ]
}

# services MASTER_RUNTIME SLAVE_RUNTIME [LABEL]: part 1 (and 3, labelled).
services() {
  local tag="$1:$2${3:+ $3}" m="m.$1-$2${3:+.$3}" s="s.$1-$2${3:+.$3}"
  echo "harbor-interop: interop services, standalone $1, joining $2"
  start_node "$1" "$m" 1 harbor_interop_master
  if ! wait_for "$m" 'INTEROP READY' 60; then
    fail "$tag: the standalone node never logged INTEROP READY" "$m"
    stop_nodes
    return
  fi
  start_node "$2" "$s" 2 harbor_interop_slave
  wait_for "$s" '^INTEROP DONE ' 120 || true
  wait_for "$m" '^INTEROP MASTER DONE ' 60 || true
  wait_for "$m" '^INTEROP NOTE sent by name$' 10 || true
  stop_nodes
  grep -hE '^INTEROP (PASS|FAIL) ' "$work/$s.out" "$work/$m.out" |
    sed "s/^INTEROP /harbor-interop: $tag: /" || true
  if done_line "$s" "INTEROP DONE" && done_line "$m" "INTEROP MASTER DONE" &&
    grep -q '^INTEROP NOTE sent by name$' "$work/$m.out"; then
    echo "harbor-interop: PASS $tag: $(grep -c '^INTEROP PASS ' "$work/$s.out" "$work/$m.out" |
      awk -F: '{n += $2} END {print n}') checks passed"
  else
    fail "$tag: the interop services" "$m" "$s"
  fi
}

# harborlink MASTER_RUNTIME SLAVE_RUNTIME: part 2, skynet's test/testharborlink.lua.
harborlink() {
  local tag="$1:$2" m="hl1.$1-$2" s="hl2.$1-$2"
  echo "harbor-interop: skynet's testharborlink, standalone $1, main_log on $2"
  start_node "$1" "$m" 1 testharborlink
  if ! wait_for "$m" '^wait for harbor 2$' 60; then
    fail "$tag: testharborlink did not start" "$m"
    stop_nodes
    return
  fi
  start_node "$2" "$s" 2 main_log
  if wait_for "$m" '^LOG =[[:space:]]+:02[0-9a-f]{6}$' 60 && wait_for "$s" '^Log server start$' 10; then
    stop_node "$s"
    if wait_for "$m" '^disconnected$' 60 && grep -q '^harbor 2 connected$' "$work/$m.out"; then
      echo "harbor-interop: PASS testharborlink $tag"
    else
      fail "$tag: testharborlink never saw harbor 2 go" "$m" "$s"
    fi
  else
    fail "$tag: testharborlink never got LOG" "$m" "$s"
  fi
  stop_nodes
}

all_pairs="skynet:skynet starling:skynet skynet:starling starling:starling"
read -ra pairs <<<"${HARBOR_INTEROP_PAIRS:-$all_pairs}"
for p in "${pairs[@]}"; do
  [[ $p =~ ^(skynet|starling):(skynet|starling)$ ]] || die "bad pair $p in HARBOR_INTEROP_PAIRS"
done
for p in "${pairs[@]}"; do services "${p%:*}" "${p#*:}"; done
for p in "${pairs[@]}"; do harborlink "${p%:*}" "${p#*:}"; done
# Starling's harbor service under skynet's own cslave.lua and cmaster.lua: their local
# interface (N, S, A in; Q, D out) is skynet's.
if [[ " ${pairs[*]} " == *" starling:starling "* ]]; then
  echo "harbor-interop: Starling nodes running skynet's cslave.lua and cmaster.lua"
  INTEROP_STOCK="$work/stock" services starling starling stock-cslave
fi

if [ "$failures" -gt 0 ]; then
  echo "harbor-interop: $failures run(s) failed"
  exit 1
fi
echo "harbor-interop: all passed"
