#!/usr/bin/env bash
# HTTP and WebSocket throughput of bench/lua/web_bench.lua, the same script on Starling and on
# skynet, plain and TLS, back to back:
#
#   bench/web_bench.sh [SKYNET_DIR]
#
# skynet runs twice: with its own lualib/http ("skynet"), and with Starling's http modules
# in front of its lualib ("skynet+ourhttp", the same Lua on both runtimes).
#
# HTTP: the node serves keep-alive requests with 4 agents; `wrk -t2 -c64 -d<s>s` loads it.
# WebSocket: an echo server and 64 client connections in the node (round trips/s). TLS uses a
# throwaway certificate. SKYNET_DIR is a built skynet tree (skynet's ltls.so is compiled from
# its lualib-src/ltls.c into the scratch directory when its luaclib/ has none). Environment:
# STARLING (default build/release/bin/starling), SECONDS_PER_RUN (default 10).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me=web_bench
# shellcheck source=../scripts/lib/common.sh
source "$repo/scripts/lib/common.sh"
starling=$(realpath "${STARLING:-$repo/build/release/bin/starling}")
skynet_dir=${1:-}
seconds=${SECONDS_PER_RUN:-10}
command -v wrk >/dev/null || { echo "web_bench: wrk is not installed (scripts/deps.sh)"; exit 1; }

scratch_dir

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1

# config RUNTIME MODE TLS -> a config file for that runtime
config() {
  local runtime=$1 mode=$2 tls=$3 file="$work/${1/+/_}-$2-$3.config"
  {
    echo 'thread = 2'
    echo 'harbor = 0'
    echo 'bootstrap = "snlua bootstrap"'
    echo 'start = "web_bench"'
    echo "web_bench_mode = \"$mode\""
    echo "web_bench_tls = \"$tls\""
    echo "web_bench_seconds = $seconds"
    echo "certfile = \"$work/cert.pem\""
    echo "keyfile = \"$work/key.pem\""
    if [ "$runtime" = starling ]; then
      echo "lualoader = \"$repo/lualib/loader.lua\""
      echo "lua_path = \"$repo/lualib/?.lua;$repo/lualib/?/init.lua\""
      echo "luaservice = \"$repo/service/?.lua;$repo/bench/lua/?.lua\""
    else
      local ours=""
      [ "$runtime" = skynet+ourhttp ] && ours="$work/lualib/?.lua;"
      echo "root = \"$skynet_dir/\""
      echo "lualoader = \"$skynet_dir/lualib/loader.lua\""
      echo "lua_path = \"$ours$skynet_dir/lualib/?.lua;$skynet_dir/lualib/?/init.lua\""
      echo "lua_cpath = \"$skynet_dir/luaclib/?.so;$work/luaclib/?.so\""
      echo "luaservice = \"$skynet_dir/service/?.lua;$repo/bench/lua/?.lua\""
      echo "cpath = \"$skynet_dir/cservice/?.so\""
      echo 'enablessl = "true"'
    fi
  } >"$file"
  echo "$file"
}

binary() { [ "$1" = starling ] && echo "$starling" || echo "$skynet_dir/skynet"; }

run_http() {
  local runtime=$1 tls=$2 out="$work/$1-http-$2.out" port="" scheme=http
  [ "$tls" = true ] && scheme=https
  (cd "$work" && exec "$(binary "$runtime")" "$(config "$runtime" http "$tls")") >"$out" 2>&1 &
  node_pid=$!
  wait_grep 10 "$node_pid" -E 'WEB_BENCH port [0-9]+' "$out" || { cat "$out"; return 1; }
  port=$(grep -oE 'WEB_BENCH port [0-9]+' "$out" | grep -oE '[0-9]+$')
  local rps
  rps=$(wrk -t2 -c64 -d"${seconds}s" "$scheme://127.0.0.1:$port/" | awk '/Requests\/sec/ {print $2}')
  echo "RESULT $runtime http tls=$tls requests/s $rps"
  kill -TERM "$node_pid" 2>/dev/null || true
  wait "$node_pid" 2>/dev/null || true
  node_pid=""
}

run_ws() {
  local runtime=$1 tls=$2 out="$work/$1-ws-$2.out"
  (cd "$work" && exec timeout $((seconds + 60)) "$(binary "$runtime")" \
    "$(config "$runtime" ws "$tls")") >"$out" 2>&1 || true
  local r
  r=$(grep -oE 'RESULT ws_echo [0-9]+' "$out" | grep -oE '[0-9]+$' || true)
  [ -n "$r" ] || { cat "$out"; return 1; }
  echo "RESULT $runtime websocket_echo tls=$tls round_trips/s $r"
}

runtimes=(starling)
if [ -n "$skynet_dir" ]; then
  skynet_dir=$(cd "$skynet_dir" && pwd)
  runtimes+=(skynet skynet+ourhttp)
  mkdir -p "$work/lualib"
  ln -s "$repo/lualib/http" "$work/lualib/http"
  if [ ! -f "$skynet_dir/luaclib/ltls.so" ]; then
    mkdir -p "$work/luaclib"
    cc -O2 -fPIC -shared -I"$skynet_dir/3rd/lua" -I"$skynet_dir/skynet-src" \
      "$skynet_dir/lualib-src/ltls.c" -o "$work/luaclib/ltls.so" -lssl -lcrypto
  fi
fi
for tls in false true; do
  for runtime in "${runtimes[@]}"; do run_http "$runtime" "$tls"; done
  for runtime in "${runtimes[@]}"; do run_ws "$runtime" "$tls"; done
done
