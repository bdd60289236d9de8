#!/usr/bin/env bash
# Checks that Starling's cluster and real skynet's talk to each other, both ways:
#
#   scripts/cluster-interop.sh SKYNET_DIR
#
# SKYNET_DIR is a built skynet tree (its ./skynet binary, cservice/, luaclib/, lualib/,
# service/, examples/ and test/ are used in place, never copied here).
#
# 1. tests/interop/interop_client.lua calls tests/interop/interop_server.lua through the
#    cluster for each pair of runtimes, client -> server: skynet -> skynet (checks the harness),
#    Starling -> skynet, skynet -> Starling, Starling -> Starling. The client prints one
#    `INTEROP PASS|FAIL <check>` line per check and `INTEROP DONE <passed>/<checks>`.
# 2. skynet's examples/cluster1.lua and cluster2.lua (with simpledb.lua and the snax service
#    test/pingserver.lua) run unchanged, on the same four pairs (cluster1 node, cluster2 node);
#    skynet nodes run skynet's own examples/config.c1 and config.c2 (included by
#    tests/interop/skynet-cluster*.config, which only move the log to a file).
#
# Every node logs to a file of its own: print and the logger write to stdout from different
# threads, a line at a time in several pieces, so on one stream their lines could mix.
#
# The examples use fixed ports (2528, 2529), so everything runs inside a private network
# namespace (unshare -n, or unshare -rn when not root) where nothing else listens.
#
# Environment: STARLING, the binary (default: build/release/bin/starling of this tree);
# CLUSTER_INTEROP_PAIRS, the pairs to run (default: all four), e.g. "skynet:skynet
# starling:skynet" (client:server, and cluster1:cluster2 for the examples);
# CLUSTER_INTEROP_KEEP=1 keeps the nodes' outputs (the directory is printed at the end).
# Without SKYNET_DIR the script prints a SKIP line and exits 0; any failed check prints the
# output of the nodes involved and the script exits 1.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me=cluster-interop
# shellcheck source=lib/interop.sh
source "$repo/scripts/lib/interop.sh"

need_skynet_tree "scripts/cluster-interop.sh SKYNET_DIR" "${1:-}" examples/cluster1.lua \
  examples/cluster2.lua examples/simpledb.lua examples/config.c1 examples/config.c2 \
  examples/clustername.lua test/pingserver.lua
[ -x "$skynet_dir/skynet" ] || die "no skynet binary in $skynet_dir (build skynet first)"
need_starling "$repo"
enter_netns CLUSTER_INTEROP_PHASE bash "$repo/scripts/cluster-interop.sh" "$skynet_dir"
interop_setup "${CLUSTER_INTEROP_KEEP:-}"

# the variables the configs in tests/interop read (skynet refuses a config naming an unset one)
export SKYNET_DIR="$skynet_dir" STARLING_ROOT="$repo" INTEROP_DIR="$repo/tests/interop" \
  INTEROP_START="" INTEROP_NODE="" INTEROP_LOG=""

# start_node RUNTIME NAME CONFIG [VAR=VALUE...]: starts a node in the background. A skynet
# node runs in the skynet tree (skynet's own configs use relative paths); a Starling node runs
# in $work.
start_node() {
  local runtime=$1 name=$2 config=$3
  shift 3
  if [ "$runtime" = skynet ]; then
    launch_node "$name" "$skynet_dir" ./skynet "$config" "$@"
  else
    launch_node "$name" "$work" "$starling" "$config" "$@"
  fi
}

# expect NAME REGEX...: each extended regular expression matches a line of NAME's output or
# log, a different line for each (so a regex given twice needs two lines), in any order.
# Prints the first regex without a line, if any.
expect() {
  local name=$1
  shift
  printf '%s\n' "$@" | awk '
    NR == FNR { want[++n] = $0; next }
    { for (i = 1; i <= n; i++) if (!(i in got) && $0 ~ want[i]) { got[i] = 1; break } }
    END { for (i = 1; i <= n; i++) if (!(i in got)) { print want[i]; exit } }' \
    - "$work/$name.out" "$work/$name.log"
}

# interop_config RUNTIME: the config of an interop node (skynet.config or starling.config).
interop_config() {
  echo "$INTEROP_DIR/$1.config"
}

# interop CLIENT_RUNTIME SERVER_RUNTIME: part 1.
interop() {
  local client=$1 server=$2 tag="$1-to-$2" port missing
  echo "cluster-interop: interop services, client $client -> server $server"
  start_node "$server" "server.$tag" "$(interop_config "$server")" INTEROP_START=interop_server
  if ! wait_for "server.$tag" 'INTEROP READY [0-9]+$' 60; then
    fail "$tag: the server never logged INTEROP READY <port>" "server.$tag"
    stop_nodes
    return
  fi
  port=$(grep -ohE 'INTEROP READY [0-9]+$' "$work/server.$tag.log" "$work/server.$tag.out" |
    head -1 | cut -d' ' -f3)
  start_node "$client" "client.$tag" "$(interop_config "$client")" \
    INTEROP_START=interop_client INTEROP_NODE="127.0.0.1:$port"
  wait_for "client.$tag" 'INTEROP DONE ' 1200 || true
  stop_nodes
  grep -E '^INTEROP (PASS|FAIL) ' "$work/client.$tag.out" |
    sed "s/^INTEROP /cluster-interop: $tag: /" || true
  missing=$(grep -E '^INTEROP DONE [0-9]+/[0-9]+$' "$work/client.$tag.out" || true)
  if [ -z "$missing" ]; then
    fail "$tag: the client never printed INTEROP DONE" "client.$tag" "server.$tag"
  elif grep -q '^INTEROP FAIL ' "$work/client.$tag.out" || [ "${missing#INTEROP DONE }" != \
    "$(grep -c '^INTEROP PASS ' "$work/client.$tag.out")/${missing##*/}" ]; then
    fail "$tag: ${missing#INTEROP DONE } checks passed" "client.$tag" "server.$tag"
  else
    echo "cluster-interop: PASS $tag: ${missing#INTEROP DONE } checks passed"
  fi
}

# examples C1_RUNTIME C2_RUNTIME: part 2, skynet's examples/cluster1.lua on one node and
# examples/cluster2.lua on the other.
examples() {
  local tag="$1+$2" c1 c2 missing
  c1="c1.$tag"
  c2="c2.$tag"
  echo "cluster-interop: skynet's cluster examples, cluster1 on $1, cluster2 on $2"
  if [ "$1" = skynet ]; then
    start_node skynet "$c1" "$INTEROP_DIR/skynet-cluster1.config"
  else
    start_node starling "$c1" "$INTEROP_DIR/starling.config" INTEROP_START=cluster1
  fi
  # cluster1 starts the snax service after opening both ports
  if wait_for "$c1" '^ping server start:' 60; then
    if [ "$2" = skynet ]; then
      start_node skynet "$c2" "$INTEROP_DIR/skynet-cluster2.config"
    else
      start_node starling "$c2" "$INTEROP_DIR/starling-cluster2.config"
    fi
    # its last step: the snax call through db3, after the 3 s timeout that takes db down
    wait_for "$c2" '^hello$' 60 || true
    wait_for "$c1" 'ping db2:longstring' 10 || true
  else
    : >"$work/$c2.out"
    : >"$work/$c2.log"
  fi
  stop_nodes
  # cluster1: its prints, the register lines, both pushes (through the proxy, and the
  # 100 KiB one by cluster.send) and the traced requests from the other node (the tag
  # crossed the wire in a trace frame)
  missing=$(expect "$c1" 'Register \[sdb\] :[0-9a-f]+$' 'Unregister \[sdb\] :[0-9a-f]+$' \
    'Register \[sdb\] :[0-9a-f]+$' '^nil$' '^nil$' '^foobar$' '^foobar2$' '^ping server start:' \
    ':[0-9a-f]+ ping proxy$' ':[0-9a-f]+ ping db2:longstringRRRRRR\.\.\.\(102414\)$' \
    '<TRACE \([^)]*-db-[0-9]+\)[^>]*> [0-9]+ request$' '<TRACE \([^)]*-db2-[0-9]+\)[^>]*> [0-9]+ request$')
  # cluster2: the calls (the large SET and GET through the proxy end in an assert), db set
  # to false, the wait for db3 and the snax call through it. The call to db right after the
  # reload usually fails, but may still get through: the reload returns before the sender is
  # closed (asynchronously, on skynet too), so both outcomes are accepted.
  [ -n "$missing" ] || missing=$(expect "$c2" '^foobar$' '^foobar2$' 'Config nowaiting = true$' \
    'Waiting for cluster node \[db3\]$' 'Cluster node \[db3\] resolved : 127\.0\.0\.1:2529$' \
    'Close cluster sender 127\.0\.0\.1:2528' $'^(false\t.*call failed|true\tfoobar)$' '^hello$')
  if [ -n "$missing" ]; then
    fail "$tag: no line matching $missing" "$c1" "$c2"
  else
    echo "cluster-interop: PASS examples $tag"
  fi
}

runtime_pairs CLUSTER_INTEROP_PAIRS
for p in "${pairs[@]}"; do interop "${p%:*}" "${p#*:}"; done
for p in "${pairs[@]}"; do examples "${p%:*}" "${p#*:}"; done
finish "run(s)"
