#!/usr/bin/env bash
# Runs the native redis example (examples/redis_native): `demo` (default) or `bench`, against a
# throwaway redis-server on a free loopback port with no persistence, stopped at the end
# (tests/support/with_redis.sh).
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

exec tests/support/with_redis.sh -- "$starling" "$config"
