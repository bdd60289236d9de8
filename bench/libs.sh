#!/usr/bin/env bash
# The data libraries' micro-benchmark (bench/lua/lib_bench.lua: sproto, bson, sharedata,
# multicast) and the memory per sharetable reader (bench/lua/sharetable_readers.lua), on a
# reference skynet build and on Starling back to back, RUNS times each; prints the medians and
# Starling's ratio to skynet.
#
#   bench/libs.sh SKYNET_DIR
#
# Env: RUNS (5), STARLING (build/release/bin/starling). Without SKYNET_DIR: a SKIP line, exit 0.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
me=libs
# shellcheck source=../scripts/lib/common.sh
source "$root/scripts/lib/common.sh"
need_skynet_tree "bench/libs.sh SKYNET_DIR" "${1:-}" skynet
need_starling "$root"
runs=${RUNS:-5}
scratch_dir

config() { # SIDE START
  if [ "$1" = skynet ]; then
    cat <<EOC
thread = 2
harbor = 0
start = "$2"
bootstrap = "snlua bootstrap"
cpath = "$skynet_dir/cservice/?.so"
luaservice = "$skynet_dir/service/?.lua;$root/bench/lua/?.lua"
lualoader = "$skynet_dir/lualib/loader.lua"
lua_path = "$skynet_dir/lualib/?.lua;$skynet_dir/lualib/?/init.lua"
lua_cpath = "$skynet_dir/luaclib/?.so"
EOC
  else
    starling_config "$root" "$2" "$root/bench/lua/?.lua"
  fi
}

echo "# bench/libs.sh $(date -u '+%Y-%m-%d %H:%M UTC'): medians of $runs runs, skynet then Starling each run"
for start in lib_bench sharetable_readers; do
  for side in skynet starling; do config $side $start >"$work/$side.$start.config"; done
  for ((i = 1; i <= runs; i++)); do
    (cd "$skynet_dir" && timeout 300 ./skynet "$work/skynet.$start.config") 2>&1 | grep '^RESULT' >>"$work/skynet.out" || true
    (cd "$root" && timeout 300 "$starling" "$work/starling.$start.config") 2>&1 | grep '^RESULT' >>"$work/starling.out" || true
  done
done
awk '$1 == "RESULT" { print $2, $4 }' "$work/skynet.out" "$work/starling.out" | sort -u -k1,1 |
  while read -r name unit; do
    a=$(awk -v n="$name" '$2 == n { print $3 }' "$work/skynet.out" | sort -g | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : "-" }')
    b=$(awk -v n="$name" '$2 == n { print $3 }' "$work/starling.out" | sort -g | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : "-" }')
    awk -v n="$name" -v a="$a" -v b="$b" -v u="$unit" 'BEGIN {
      r = (a == "-" || b == "-" || a + 0 == 0) ? "-" : sprintf("%.2fx", b / a)
      printf "%s skynet=%s starling=%s unit=%s ratio=%s\n", n, a, b, u, r
    }'
  done
