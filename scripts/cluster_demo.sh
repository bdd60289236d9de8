#!/usr/bin/env bash
# The two-node demo (make run): a database node and a calling node on loopback
# (examples/cluster). The client node calls the database through the cluster from Lua and from
# a native C++ service, then stops both. Exits 0 when every step gave what it should.
# `scripts/cluster_demo.sh bench` (make bench-cluster) runs the native cluster benchmark between
# two such nodes instead and prints its RESULT lines.
# STARLING names the binary (default build/release/bin/starling); the native modules are
# looked for in STARLING_CSERVICE (default: the cservice/ directory beside its bin/).
set -euo pipefail
cd "$(dirname "$0")/.."
me=cluster_demo
# shellcheck source=lib/common.sh
source scripts/lib/common.sh
starling=${STARLING:-build/release/bin/starling}
export STARLING_CSERVICE=${STARLING_CSERVICE:-$(dirname "$starling")/../cservice}
case "${1:-demo}" in
  demo) server=examples/cluster/config.db client=examples/cluster/config.client ;;
  bench) server=examples/cluster/config.bench_server client=examples/cluster/config.bench_client ;;
  *) echo "usage: $0 [demo|bench]" >&2; exit 2 ;;
esac

scratch_dir
fail() {
  echo "cluster_demo: $*" >&2
  echo "--- db node ---" >&2
  cat "$work/db.log" >&2 || true
  exit 1
}

CLUSTER_DEMO_DIR=$work "$starling" "$server" >"$work/db.log" 2>&1 </dev/null &
node_pid=$!
for _ in $(seq 400); do
  [ -s "$work/db.port" ] && break
  kill -0 "$node_pid" 2>/dev/null || fail "the db node exited before it listened"
  sleep 0.05
done
[ -s "$work/db.port" ] || fail "the db node did not listen"
port=$(cat "$work/db.port")
echo "cluster_demo: the db node listens on 127.0.0.1:$port"

status=0
CLUSTER_DEMO_PORT=$port timeout 60 "$starling" "$client" 2>&1 | tee "$work/client.log" || status=$?
[ "$status" -eq 0 ] || fail "the client node exited with status $status"
timeout 20 tail --pid="$node_pid" -f /dev/null || fail "the db node did not stop"
wait "$node_pid" || fail "the db node exited with an error"
node_pid=""
echo "--- db node ---"
cat "$work/db.log"
if [ "${1:-demo}" = bench ]; then
  grep -q '^RESULT cluster_native send_16B_msgs' "$work/client.log" || fail "the benchmark did not finish"
  exit 0
fi
for want in "GET hello -> world" "GET hello through a proxy -> world" \
  "client (C++): GET native -> from C++" "the native client succeeded"; do
  grep -qF "$want" "$work/client.log" || fail "the client did not print: $want"
done
echo "cluster_demo: passed"
