#!/usr/bin/env bash
# Runs the native redis example (examples/redis_native): `demo` (default) or `bench`, against a
# throwaway redis-server on a free loopback port with no persistence, stopped at the end.
# STARLING names the binary (default build/release/bin/starling); the native modules are
# looked for in STARLING_CSERVICE (default: the cservice/ directory beside its bin/).
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-demo}" in
  demo) config=examples/redis_native/config ;;
  bench) config=examples/redis_native/bench.config ;;
  *) echo "usage: $0 [demo|bench]" >&2; exit 2 ;;
esac
starling=${STARLING:-build/release/bin/starling}
export STARLING_CSERVICE=${STARLING_CSERVICE:-$(dirname "$starling")/../cservice}
command -v redis-server >/dev/null || { echo "redis_native: redis-server is not installed" >&2; exit 1; }

dir=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT

# A port picked at random may be taken: ours is up when its own log says so.
for _ in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 10000))
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
    >"$dir/redis.log" 2>&1 </dev/null &
  pid=$!
  for _ in $(seq 200); do
    kill -0 "$pid" 2>/dev/null || break
    grep -q "Ready to accept connections" "$dir/redis.log" && break 2
    sleep 0.05
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
done
[ -n "$pid" ] || { echo "redis_native: redis-server did not start" >&2; exit 1; }

REDIS_PORT=$port "$starling" "$config"
