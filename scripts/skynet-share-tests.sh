#!/usr/bin/env bash
# Runs skynet's own shared-data and multicast tests unchanged on Starling and checks what they
# print:
#
#   scripts/skynet-share-tests.sh SKYNET_SOURCE_DIR
#
# test/testsharetable.lua, teststm.lua, testdatasheet.lua, testmulticast.lua and
# examples/share.lua are read from the given skynet tree at run time (never copied here) and
# started as the node's start service, with Starling's lualib/ and service/. test/testsm.lua
# needs sproto and test/testmulticast2.lua the console service: each runs once this tree has
# them, and is reported as SKIP until then.
#
# Environment: STARLING, the binary (default: build/release/bin/starling of this tree).
# Without SKYNET_SOURCE_DIR the script prints a SKIP line and exits 0; any failed check
# prints the node's output and exits 1.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() {
  echo "skynet-share-tests: $*" >&2
  exit 1
}

skynet_dir=${1:-}
if [ -z "$skynet_dir" ]; then
  echo "skynet-share-tests: SKIP: no skynet source tree given" \
    "(usage: scripts/skynet-share-tests.sh SKYNET_SOURCE_DIR)"
  exit 0
fi
skynet_dir=$(cd "$skynet_dir" && pwd) || die "no directory $1"
for f in test/testsharetable test/teststm test/testdatasheet test/testmulticast examples/share; do
  [ -f "$skynet_dir/$f.lua" ] || die "$skynet_dir/$f.lua not found"
done
starling=${STARLING:-$repo/build/release/bin/starling}
[ -x "$starling" ] || die "no Starling binary at $starling (build it, or set STARLING)"

work=$(mktemp -d "${TMPDIR:-/tmp}/skynet-share-tests.XXXXXX")
node_pid=""
cleanup() {
  [ -z "$node_pid" ] || kill -KILL "$node_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# run_node TEST DIR LAST_LINE SECONDS [GRACE]: runs the node with DIR/TEST.lua as its start
# service until it prints a line matching LAST_LINE (an extended regular expression for the
# whole line) plus GRACE seconds for late output (default 0.5), or SECONDS pass. skynet's tests never end the node, so
# it is stopped afterwards. Output: $work/TEST.out.
run_node() {
  local test=$1 dir=$2 last=$3 seconds=$4 grace=${5:-0.5} out="$work/$1.out" i
  cat >"$work/$test.config" <<CONFIG
thread = 2
harbor = 0
bootstrap = "snlua bootstrap"
start = "$test"
lualoader = "$repo/lualib/loader.lua"
lua_path = "$repo/lualib/?.lua;$repo/lualib/?/init.lua"
lua_cpath = "$repo/luaclib/?.so"
luaservice = "$repo/service/?.lua;$dir/?.lua;$skynet_dir/test/?.lua"
CONFIG
  : >"$out"
  (cd "$work" && exec "$starling" "$work/$test.config") >"$out" 2>&1 &
  node_pid=$!
  for ((i = 0; i < seconds * 10; i++)); do
    grep -qE -- "^$last\$" "$out" && break
    kill -0 "$node_pid" 2>/dev/null || break
    sleep 0.1
  done
  sleep "$grace"
  kill -TERM "$node_pid" 2>/dev/null || true
  wait "$node_pid" 2>/dev/null || true
  node_pid=""
}

failures=0
fail() {
  echo "skynet-share-tests: $1: FAIL, $2"
  echo "---- output of $1"
  cat "$work/$1.out"
  echo "----"
  failures=$((failures + 1))
}

# expect TEST LINE...: the output contains these lines in this order (others may come
# between). Each LINE is an extended regular expression for a whole line.
expect() {
  local test=$1 missing
  shift
  missing=$(printf '%s\n' "$@" | awk '
    NR == FNR { want[++n] = $0; next }
    i < n && $0 ~ ("^" want[i + 1] "$") { i++ }
    END { if (i < n) print want[i + 1] }' - "$work/$test.out")
  [ -z "$missing" ] || fail "$test" "expected line not found (in order): $missing"
}

# expect_count TEST N LINE: exactly N lines match LINE (a whole-line regular expression).
expect_count() {
  local n
  n=$(grep -cE -- "^$3\$" "$work/$1.out" || true)
  [ "$n" = "$2" ] || fail "$1" "$n lines match $3, expected $2"
}

# clean TEST: no Lua error was logged.
clean() {
  if grep -q "error :" "$work/$1.out"; then fail "$1" "an error was logged"; fi
}

t=$'\t'
addr='\[:[0-9a-f]+\]'

run_node testsharetable "$skynet_dir/test" "test${t}3${t}3" 20
for line in "hello world${t}true" "x${t}1" "y${t}table: 0x[0-9a-f]+" "1${t}1" "2${t}2" "3${t}3" \
  "test queryall default"; do
  expect testsharetable "$line"
done
for name in one two; do
  expect testsharetable "test_$name${t}message${t}hello $name" "test queryall default" \
    "test_$name${t}message${t}hello $name"
done
expect testsharetable "test queryall default" "test_three${t}x${t}3"
expect_count testsharetable 1 "test_three${t}message${t}hello three"
clean testsharetable

run_node teststm "$skynet_dir/test" "write${t}5" 20
expect teststm "read:${t}true${t}1${t}2${t}3${t}4${t}5" "read:${t}false" \
  "write${t}1" "read:${t}true${t}hello world${t}1" "write${t}2" "read:${t}true${t}hello world${t}2" \
  "write${t}3" "read:${t}true${t}hello world${t}3" "write${t}4" "read:${t}true${t}hello world${t}4" \
  "write${t}5"
clean teststm

run_node testdatasheet "$skynet_dir/test" "\[3\]${t}.*" 20 1
for line in "\[CHILD\]${t}a${t}1" "\[CHILD\]${t}b${t}2" "\[CHILD\]\.c${t}1${t}3"; do
  expect testdatasheet "$line"
done
expect testdatasheet "\[1\]${t}a${t}1" "sleep" "\[2\]${t}b${t}4" "\[2\.c\]${t}1${t}5" "sleep"
expect testdatasheet "\[2\]\.c${t}1${t}5"
for line in "\[3\]${t}a${t}6" "\[3\]${t}c${t}7" "\[3\]${t}d${t}8"; do
  expect testdatasheet "sleep" "sleep" "$line"
done
clean testdatasheet

run_node testmulticast "$skynet_dir/test" "(:[0-9a-f]+ <=== .*${t}Hello World.*)" 20 1
expect testmulticast "New channel${t}\[Multicast:0\]" ":[0-9a-f]+${t}===>${t}\[Multicast:0\]"
expect_count testmulticast 10 ":[0-9a-f]+${t}sub${t}\[Multicast:0\]"
expect_count testmulticast 10 ":[0-9a-f]+ <=== :[0-9a-f]+ \[Multicast:0\]${t}Hello World"
clean testmulticast

# The reader wakes every second and the host updates every two: which second first shows
# an update depends on the schedule, the order of what the reader sees does not.
run_node share "$skynet_dir/examples" "$addr sleep" 20 1.5
expect share "$addr a=1" "$addr b\[1\]=hello" "$addr b\[2\]=world" "$addr nobj\.b\[1\]=hello" \
  "$addr nobj\.b\[2\]=world" "$addr second 1" "$addr a = 1" "$addr update foobar a = 2" \
  "$addr a = 2" "$addr update foobar a = 3" "$addr a = 3" "$addr second 5" "$addr a = 3" \
  "$addr .*share\.lua:[0-9]+: The key \[\.b\] doesn't exist after update" \
  "$addr b\[1\] = change" "$addr sleep" "$addr sleep"
expect share "$addr delete foobar"
clean share

if [ -f "$repo/lualib/sproto.lua" ] && [ -f "$skynet_dir/test/testsm.lua" ]; then
  cp_dir="$work/sm"
  mkdir -p "$cp_dir"
  run_node testsm "$skynet_dir/test" "x=1 y=2 s=world" 20
  expect testsm "x=1 y=0 s=hello" "x=1 y=2 s=hello" "x=1 y=2 s=world"
  clean testsm
else
  echo "skynet-share-tests: testsm: SKIP (needs sproto)"
fi
if [ -f "$repo/service/console.lua" ]; then
  run_node testmulticast2 "$skynet_dir/test" "======>.*Remote message" 20
  expect testmulticast2 "remote start" "create local channel" "======>.*Remote message"
else
  echo "skynet-share-tests: testmulticast2: SKIP (needs the console service)"
fi

if [ "$failures" -gt 0 ]; then
  echo "skynet-share-tests: $failures check(s) failed"
  exit 1
fi
echo "skynet-share-tests: all passed"
