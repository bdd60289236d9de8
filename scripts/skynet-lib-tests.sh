#!/usr/bin/env bash
# Runs skynet's own tests of its data libraries, and its web examples, unchanged on Starling:
#
#   scripts/skynet-lib-tests.sh SKYNET_SOURCE_DIR
#
# Each test/<name>.lua (or examples/<name>.lua) is read from the given skynet tree at run time
# (never copied here) and started as the node's start service, with Starling's lualib/ and
# service/. skynet's tests never stop the node: a test has passed when its last line (below)
# appears and no Lua error was logged; the node is then stopped. An example with a probe_<name>
# function below is also talked to once its line appeared (the probe must succeed). The web
# examples listen on skynet's fixed ports (8001, 9948): a busy port fails that example.
#
# Environment: STARLING, the binary (default: build/release/bin/starling of this tree).
# Without SKYNET_SOURCE_DIR the script prints a SKIP line and exits 0; a failed test prints
# the node's output, and the script exits 1 at the end.
set -euo pipefail

# The tests: "NAME DONE", DONE an extended regular expression for the whole line that shows
# the test has run to its end. Add a test with one line here.
tests=(
  'testcrypt \[:[0-9a-f]+\] KILL self'
  'testsha 199'
  'testbson o\.hello	number	1'
  'simpleweb .*Listen web port 8001 protocol:http'
  'simplewebsocket <: hello world!'
)
seconds=30  # per test

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() {
  echo "skynet-lib-tests: $*" >&2
  exit 1
}

skynet_dir=${1:-}
if [ -z "$skynet_dir" ]; then
  echo "skynet-lib-tests: SKIP: no skynet source tree given" \
    "(usage: scripts/skynet-lib-tests.sh SKYNET_SOURCE_DIR)"
  exit 0
fi
skynet_dir=$(cd "$skynet_dir" && pwd) || die "no directory $1"
for entry in "${tests[@]}"; do
  name=${entry%% *}
  [ -f "$skynet_dir/test/$name.lua" ] || [ -f "$skynet_dir/examples/$name.lua" ] ||
    die "$skynet_dir/test/$name.lua not found"
done

# simpleweb: a GET with a query through one of its agents; the page echoes path and query.
probe_simpleweb() {
  local page
  page=$(curl -s --max-time 10 "http://127.0.0.1:8001/some/path?x=1") || return 1
  grep -q "^path: /some/path$" <<<"$page" && grep -q "^query: x= 1$" <<<"$page"
}
starling=${STARLING:-$repo/build/release/bin/starling}
[ -x "$starling" ] || die "no Starling binary at $starling (build it, or set STARLING)"

work=$(mktemp -d "${TMPDIR:-/tmp}/skynet-lib-tests.XXXXXX")
node_pid=""
cleanup() {
  [ -z "$node_pid" ] || kill -KILL "$node_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# run_test NAME DONE: runs the node with the test as its start service until a line matches
# DONE, the node exits or $seconds pass; then stops it. Output: $work/NAME.out.
run_test() {
  local name=$1 done=$2 out="$work/$1.out" i
  cat >"$work/$name.config" <<EOF
thread = 2
harbor = 0
bootstrap = "snlua bootstrap"
start = "$name"
lualoader = "$repo/lualib/loader.lua"
lua_path = "$repo/lualib/?.lua;$repo/lualib/?/init.lua"
lua_cpath = "$repo/luaclib/?.so"
luaservice = "$repo/service/?.lua;$skynet_dir/test/?.lua;$skynet_dir/examples/?.lua"
EOF
  : >"$out"
  (cd "$work" && exec "$starling" "$work/$name.config") >"$out" 2>&1 &
  node_pid=$!
  for ((i = 0; i < seconds * 10; i++)); do
    grep -qEx -- "$done" "$out" && break
    kill -0 "$node_pid" 2>/dev/null || break
    sleep 0.1
  done
  probe_failed=""
  if declare -F "probe_$name" >/dev/null && grep -qEx -- "$done" "$out"; then
    "probe_$name" || probe_failed=1
  fi
  sleep 0.3
  kill -TERM "$node_pid" 2>/dev/null || true
  wait "$node_pid" 2>/dev/null || true
  node_pid=""
}

failures=0
for entry in "${tests[@]}"; do
  name=${entry%% *}
  done_line=${entry#* }
  run_test "$name" "$done_line"
  out="$work/$name.out"
  why=""
  if ! grep -qEx -- "$done_line" "$out"; then
    why="its last line never came"
  elif [ -n "$probe_failed" ]; then
    why="the probe failed"
  elif grep -qE "^\[:[0-9a-f]*\] .*(lua:[0-9]+:|init service failed)" "$out"; then
    why="an error was logged"
  fi
  if [ -n "$why" ]; then
    echo "skynet-lib-tests: $name: FAIL, $why"
    echo "---- output of $name"
    cat "$out"
    echo "----"
    failures=$((failures + 1))
  else
    echo "skynet-lib-tests: $name: ok"
  fi
done

if [ "$failures" -gt 0 ]; then
  echo "skynet-lib-tests: $failures test(s) failed"
  exit 1
fi
echo "skynet-lib-tests: all passed"
