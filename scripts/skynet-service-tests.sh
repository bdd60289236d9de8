#!/usr/bin/env bash
# Runs skynet's login example and mysql test unchanged on Starling (the data libraries' tests:
# scripts/skynet-lib-tests.sh; the two runners are to become one):
#
#   scripts/skynet-service-tests.sh SKYNET_SOURCE_DIR
#
# Each test/<name>.lua is read from the given skynet tree at run time (never copied here) and
# started as the node's start service, with Starling's lualib/ and service/. skynet's tests
# never stop the node: a test has passed when its last line (below) appears and no Lua error
# was logged; the node is then stopped.
#
# Environment: STARLING, the binary (default: build/release/bin/starling of this tree).
# Without SKYNET_SOURCE_DIR the script prints a SKIP line and exits 0; a failed test prints
# the node's output, and the script exits 1 at the end.
set -euo pipefail

# The tests: "NAME DONE", DONE an extended regular expression for the whole line that shows
# the test has run to its end. Add a test with one line here. NAME is test/NAME.lua, or a
# path DIR/NAME (without .lua) of an example: its services are read from DIR, and when DIR
# has a client.lua it is run once the node listens, with the tree's own Lua 5.5 and
# luaclib/client.so (its output goes to the same log; without them the example is skipped).
tests=(
  'examples/login/main <===	true	again	1'
  'testmysql test1 loop times=	1	'
)
seconds=30  # per test

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Tests that need a server run under a wrapper that starts it (a SKIP line: skipped).
declare -A wrappers=(
  [testmysql]="$repo/tests/support/with_mariadb.sh --port 3306 --root-password 123456 --"
)
die() {
  echo "skynet-service-tests: $*" >&2
  exit 1
}

skynet_dir=${1:-}
if [ -z "$skynet_dir" ]; then
  echo "skynet-service-tests: SKIP: no skynet source tree given" \
    "(usage: scripts/skynet-service-tests.sh SKYNET_SOURCE_DIR)"
  exit 0
fi
skynet_dir=$(cd "$skynet_dir" && pwd) || die "no directory $1"
# script_dir NAME: the directory of a test's services.
script_dir() {
  case "$1" in
    */*) echo "$skynet_dir/${1%/*}" ;;
    *) echo "$skynet_dir/test" ;;
  esac
}
for entry in "${tests[@]}"; do
  name=${entry%% *}
  [ -f "$(script_dir "$name")/${name##*/}.lua" ] || die "$(script_dir "$name")/${name##*/}.lua not found"
done
starling=${STARLING:-$repo/build/release/bin/starling}
[ -x "$starling" ] || die "no Starling binary at $starling (build it, or set STARLING)"

work=$(mktemp -d "${TMPDIR:-/tmp}/skynet-service-tests.XXXXXX")
node_pid=""
cleanup() {
  [ -z "$node_pid" ] || kill -KILL "$node_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# run_test NAME DONE: runs the node with the test as its start service until a line matches
# DONE, the node exits or $seconds pass; then stops it. Output: $work/NAME.out.
run_test() {
  local name=$1 done=$2 out="$work/${1//\//_}.out" dir i
  local config="${out%.out}.config"
  dir=$(script_dir "$name")
  cat >"$config" <<EOF
thread = 2
harbor = 0
bootstrap = "snlua bootstrap"
start = "${name##*/}"
lualoader = "$repo/lualib/loader.lua"
lua_path = "$repo/lualib/?.lua;$repo/lualib/?/init.lua"
lua_cpath = "$repo/luaclib/?.so"
luaservice = "$repo/service/?.lua;$dir/?.lua"
EOF
  : >"$out"
  local wrapper=()
  [ -z "${wrappers[$name]:-}" ] || read -r -a wrapper <<<"${wrappers[$name]}"
  (cd "$work" && exec "${wrapper[@]}" "$starling" "$config") >"$out" 2>&1 &
  node_pid=$!
  if [[ $name == */* && -f $dir/client.lua ]]; then
    # The example's client, once the node listens (its last service logs "Listen on"). Its
    # socket library exits when stdin closes, so stdin stays open while it runs.
    for ((i = 0; i < seconds * 10; i++)); do
      grep -q "Listen on" "$out" && break
      sleep 0.1
    done
    (
      cd "$skynet_dir" || exit
      exec 3< <(exec sleep "$seconds")
      stdin_holder=$!
      timeout "$seconds" 3rd/lua/lua "${dir#"$skynet_dir"/}/client.lua" <&3
      kill "$stdin_holder" 2>/dev/null
    ) >>"$out" 2>&1 || true
  fi
  for ((i = 0; i < seconds * 10; i++)); do
    grep -qEx -- "$done" "$out" && break
    kill -0 "$node_pid" 2>/dev/null || break
    sleep 0.1
  done
  sleep 0.3
  kill -TERM "$node_pid" 2>/dev/null || true
  wait "$node_pid" 2>/dev/null || true
  node_pid=""
}

failures=0
for entry in "${tests[@]}"; do
  name=${entry%% *}
  done_line=${entry#* }
  if [[ $name == */* && -f $(script_dir "$name")/client.lua ]] &&
    ! [[ -x $skynet_dir/3rd/lua/lua && -f $skynet_dir/luaclib/client.so ]]; then
    echo "skynet-service-tests: $name: SKIP, no 3rd/lua/lua or luaclib/client.so in the skynet tree"
    continue
  fi
  run_test "$name" "$done_line"
  out="$work/${name//\//_}.out"
  why=""
  if skip=$(grep -m1 "with_[a-z]*\.sh: SKIP" "$out"); then
    echo "skynet-service-tests: $name: $skip"
    continue
  elif ! grep -qEx -- "$done_line" "$out"; then
    why="its last line never came"
  elif grep -qE "^\[:[0-9a-f]*\] .*(lua:[0-9]+:|init service failed)" "$out"; then
    why="an error was logged"
  fi
  if [ -n "$why" ]; then
    echo "skynet-service-tests: $name: FAIL, $why"
    echo "---- output of $name"
    cat "$out"
    echo "----"
    failures=$((failures + 1))
  else
    echo "skynet-service-tests: $name: ok"
  fi
done

if [ "$failures" -gt 0 ]; then
  echo "skynet-service-tests: $failures test(s) failed"
  exit 1
fi
echo "skynet-service-tests: all passed"
