#!/usr/bin/env bash
# Remote calls over a harbor link (bench/harbor_call.lua) on one runtime:
#
#   RUNTIME_CMD=<binary> RUNTIME_ROOT=<its lualib/ service/ ... tree> bench/harbor_call.sh
#
# e.g. RUNTIME_CMD=build/release/bin/starling RUNTIME_ROOT=. or RUNTIME_CMD=<skynet>/skynet
# RUNTIME_ROOT=<skynet>. Two nodes (harbor 1 standalone with the echo, harbor 2 calling it) in
# a private network namespace (fixed ports), RUNS times (default 5); prints
# `BENCH harbor_call c<conc> median=<v> min=<v> max=<v> unit=calls/s`. THREADS (default 2),
# HARBOR_BENCH_TIME (seconds per phase, default 3), HARBOR_BENCH_CONC (default "1,64").
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
me=harbor_call
# shellcheck source=../scripts/lib/common.sh
source "$here/../scripts/lib/common.sh"
[ -n "${RUNTIME_CMD:-}" ] && [ -n "${RUNTIME_ROOT:-}" ] || {
  echo "harbor_call: set RUNTIME_CMD and RUNTIME_ROOT" >&2
  exit 2
}
enter_netns HARBOR_BENCH_PHASE bash "${BASH_SOURCE[0]}"
root=$(cd "$RUNTIME_ROOT" && pwd)
cmd=$RUNTIME_CMD
[[ $cmd == /* ]] || cmd=$(cd "$(dirname "$cmd")" && pwd)/$(basename "$cmd")
scratch_dir

config() { # ID ROLE
  cat <<CFG
thread = ${THREADS:-2}
harbor = $1
address = "127.0.0.1:$((2525 + $1))"
master = "127.0.0.1:2013"
bootstrap = "snlua bootstrap"
start = "harbor_call"
cpath = "$root/cservice/?.so"
lualoader = "$root/lualib/loader.lua"
lua_path = "$root/lualib/?.lua;$root/lualib/?/init.lua"
lua_cpath = "$root/luaclib/?.so"
luaservice = "$root/service/?.lua;$here/?.lua"
harbor_bench_role = "$2"
harbor_bench_time = "${HARBOR_BENCH_TIME:-3}"
harbor_bench_conc = "${HARBOR_BENCH_CONC:-1,64}"
profile = false
CFG
  [ "$1" = 1 ] && echo 'standalone = "127.0.0.1:2013"'
  return 0
}
config 1 server >"$work/server.config"
config 2 client >"$work/client.config"

for ((run = 1; run <= ${RUNS:-5}; run++)); do
  (cd "$root" && exec timeout 120 "$cmd" "$work/server.config") >"$work/server.out" 2>&1 &
  node_pid=$!
  wait_grep 10 "$node_pid" BENCH_READY "$work/server.out" || true
  (cd "$root" && timeout 120 "$cmd" "$work/client.config") >"$work/client.out" 2>&1 || true
  kill "$node_pid" 2>/dev/null || true
  wait "$node_pid" 2>/dev/null || true
  node_pid=""
  grep '^RESULT harbor_call ' "$work/client.out" >>"$work/results" ||
    { echo "harbor_call: run $run gave no result:"; cat "$work/client.out" "$work/server.out"; }
done
for key in $(awk '{ print $3 }' "$work/results" | sort -u); do
  awk -v k="$key" '$3 == k { print $4 }' "$work/results" | sort -n |
    awk -v k="$key" '{ a[NR] = $1 }
      END { printf "BENCH harbor_call %s median=%s min=%s max=%s unit=calls/s\n", k, a[int((NR + 1) / 2)], a[1], a[NR] }'
done
