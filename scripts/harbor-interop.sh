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
me=harbor-interop
# shellcheck source=lib/interop.sh
source "$repo/scripts/lib/interop.sh"

need_skynet_tree "scripts/harbor-interop.sh SKYNET_DIR" "${1:-}" test/testharborlink.lua \
  examples/main_log.lua examples/globallog.lua examples/simplemonitor.lua service/cslave.lua \
  service/cmaster.lua
[ -x "$skynet_dir/skynet" ] || die "no skynet binary in $skynet_dir (build skynet first)"
need_starling "$repo"
enter_netns HARBOR_INTEROP_PHASE bash "$repo/scripts/harbor-interop.sh" "$skynet_dir"
interop_setup "${HARBOR_INTEROP_KEEP:-}"

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
  launch_node "$name" "$work" "$binary" "$INTEROP_DIR/$config" RUNTIME_ROOT="$root" \
    INTEROP_HARBOR="$id" INTEROP_ADDRESS="127.0.0.1:$((2525 + id))" INTEROP_START="$start"
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

runtime_pairs HARBOR_INTEROP_PAIRS
for p in "${pairs[@]}"; do services "${p%:*}" "${p#*:}"; done
for p in "${pairs[@]}"; do harborlink "${p%:*}" "${p#*:}"; done
# Starling's harbor service under skynet's own cslave.lua and cmaster.lua: their local
# interface (N, S, A in; Q, D out) is skynet's.
if [[ " ${pairs[*]} " == *" starling:starling "* ]]; then
  echo "harbor-interop: Starling nodes running skynet's cslave.lua and cmaster.lua"
  INTEROP_STOCK="$work/stock" services starling starling stock-cslave
fi
finish "run(s)"
