#!/usr/bin/env bash
# Runs skynet's own tests and examples unchanged on Starling and checks what they print: the
# data libraries, the web examples, the login example and the mysql test:
#
#   scripts/skynet-lib-tests.sh SKYNET_SOURCE_DIR
#
# Each test is read from the given skynet tree at run time (never copied here) and started as
# the node's start service, with Starling's lualib/ and service/, in the skynet tree as the
# working directory (test/testsm.lua opens ./test/sharemap.sp). skynet's tests never stop the
# node: a test has passed when its last line (below) appears, no Lua error was logged and its
# own checks (check_<name> below, if any) find what it must print; the node is then stopped.
# skynet's web examples (simpleweb, simplewebsocket) run the same way; one with a
# probe_<name> function below is also talked to once its line appeared (the probe must
# succeed). They listen on skynet's fixed ports (8001, 9948): a busy port fails that example.
# A test with a drive_<name> function below is driven by it while the node runs (the login
# example by its own client); a test with a wrapper below runs under it (testmysql under a
# throwaway MariaDB; a SKIP line of the wrapper skips the test).
#
# Environment: STARLING, the binary (default: build/release/bin/starling of this tree).
# Without SKYNET_SOURCE_DIR the script prints a SKIP line and exits 0; a failed test prints
# the node's output, and the script exits 1 at the end.
set -euo pipefail

# The tests: "NAME DONE", DONE an extended regular expression for the whole line that shows
# the test has run to its end. NAME is test/NAME.lua, or DIR/NAME.lua when it has a slash.
# Add a test with one line here.
tests=(
  'testcrypt \[:[0-9a-f]+\] KILL self'
  'testsha 199'
  'testbson o\.hello	number	1'
  'testsharetable test	3	3'
  'teststm write	5'
  'testdatasheet \[3\]	.*'
  'testmulticast :[0-9a-f]+ <=== .*	Hello World.*'
  'testmulticast2 ======>	\[Multicast:[0-9a-f]+\]	[0-9]+	Remote message'
  'testsm s=	world'
  'examples/share \[:[0-9a-f]+\] sleep'
  'examples/simpleweb .*Listen web port 8001 protocol:http'
  'examples/simplewebsocket <: hello world!'
  'examples/login/main <===	true	again	1'
  'testmysql test1 loop times=	1	'
)
seconds=30  # per test

# Seconds to wait after the last line for output that may still come (default 0.3).
declare -A grace=([testdatasheet]=1 [testmulticast]=1 [examples/share]=1.5)
# Logged errors a test provokes on purpose (an extended regular expression).
declare -A expected_errors=([examples/share]='The key \[\.b\] doesn.t exist after update')

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
me=skynet-lib-tests
# shellcheck source=lib/common.sh
source "$repo/scripts/lib/common.sh"
# Commands a test's node runs under (skynet's test/testmysql.lua wants MySQL on port 3306).
declare -A wrappers=(
  [testmysql]="$repo/tests/support/with_mariadb.sh --port 3306 --root-password 123456 --"
)

need_skynet_tree "scripts/skynet-lib-tests.sh SKYNET_SOURCE_DIR" "${1:-}"
script_of() { # NAME: the test's path inside the skynet tree, without .lua
  case $1 in
    */*) echo "$1" ;;
    *) echo "test/$1" ;;
  esac
}
for entry in "${tests[@]}"; do
  name=${entry%% *}
  [ -f "$skynet_dir/$(script_of "$name").lua" ] || die "$skynet_dir/$(script_of "$name").lua not found"
done

# simpleweb: a GET with a query through one of its agents; the page echoes path and query.
probe_simpleweb() {
  local page
  page=$(curl -s --max-time 10 "http://127.0.0.1:8001/some/path?x=1") || return 1
  grep -q "^path: /some/path$" <<<"$page" && grep -q "^query: x= 1$" <<<"$page"
}
wait_line() { # FILE REGEX SECONDS [PID]: until a whole line of FILE matches (or PID exits)
  wait_grep "$3" "${4:-}" -Ex -- "$2" "$1"
}

# The login example: skynet's examples/login/client.lua, once the node listens (its gate logs
# "Listen on"), run by the skynet tree's Lua 5.5 with its luaclib/client.so. Its socket
# library exits when stdin closes, so stdin stays open while it runs.
drive_examples_login_main() {
  wait_line "$out" ".*Listen on.*" "$seconds" "$node_pid" || return 0
  (
    cd "$skynet_dir" || exit
    exec 3< <(exec sleep "$seconds")
    stdin_holder=$!
    timeout "$seconds" 3rd/lua/lua examples/login/client.lua <&3
    kill "$stdin_holder" 2>/dev/null
  ) >>"$out" 2>&1 || true
}
# needs_<name>: why the test cannot run here (empty: it can).
needs_examples_login_main() {
  [[ -x $skynet_dir/3rd/lua/lua && -f $skynet_dir/luaclib/client.so ]] ||
    echo "the skynet tree is not built: no 3rd/lua/lua or luaclib/client.so"
}
need_starling "$repo"
scratch_dir

out_of() { # NAME: the file of the test's output
  echo "$work/test_${1//\//_}.out"
}

# run_test NAME DONE: runs the node with the test as its start service until a line matches
# DONE, the node exits or $seconds pass; then stops it. Output: $(out_of NAME).
run_test() {
  local name=$1 done=$2 script base dir wrapper=()
  script=$(script_of "$name")
  base=${script##*/}
  dir=$skynet_dir/${script%/*}
  out=$(out_of "$name")
  starling_config "$repo" "$base" "$dir/?.lua;$skynet_dir/test/?.lua" >"${out%.out}.config"
  : >"$out"
  [ -z "${wrappers[$name]:-}" ] || read -r -a wrapper <<<"${wrappers[$name]}"
  (cd "$skynet_dir" && exec "${wrapper[@]}" "$starling" "${out%.out}.config" </dev/null) >"$out" 2>&1 &
  node_pid=$!
  if declare -F "drive_${name//\//_}" >/dev/null; then "drive_${name//\//_}"; fi
  wait_line "$out" "$done" "$seconds" "$node_pid" || true
  probe_failed=""
  if declare -F "probe_${name##*/}" >/dev/null && grep -qEx -- "$done" "$out"; then
    "probe_${name##*/}" || probe_failed=1
  fi
  sleep "${grace[$name]:-0.3}"
  kill -TERM "$node_pid" 2>/dev/null || true
  wait "$node_pid" 2>/dev/null || true
  node_pid=""
}

# The checks of what a test prints. Each check_<name> (a slash in NAME becomes _) reads
# $out and sets $why when something is missing.
t=$'\t'
addr='\[:[0-9a-f]+\]'

# expect LINE...: the output contains these lines in this order (others may come between).
# Each LINE is an extended regular expression for a whole line.
expect() {
  local missing
  missing=$(printf '%s\n' "$@" | awk '
    NR == FNR { want[++n] = $0; next }
    i < n && $0 ~ ("^" want[i + 1] "$") { i++ }
    END { if (i < n) print want[i + 1] }' - "$out")
  [ -z "$missing" ] || why=${why:-"expected line not found (in order): $missing"}
}

# expect_count N LINE: exactly N lines match LINE (a whole-line regular expression).
expect_count() {
  local n
  n=$(grep -cE -- "^$2\$" "$out" || true)
  [ "$n" = "$1" ] || why=${why:-"$n lines match $2, expected $1"}
}

check_testsharetable() {
  local line name
  for line in "hello world${t}true" "x${t}1" "y${t}table: 0x[0-9a-f]+" "1${t}1" "2${t}2" \
    "3${t}3" "test queryall default"; do
    expect "$line"
  done
  for name in one two; do
    expect "test_$name${t}message${t}hello $name" "test queryall default" \
      "test_$name${t}message${t}hello $name"
  done
  expect "test queryall default" "test_three${t}x${t}3"
  expect_count 1 "test_three${t}message${t}hello three"
}

check_teststm() {
  expect "read:${t}true${t}1${t}2${t}3${t}4${t}5" "read:${t}false" \
    "write${t}1" "read:${t}true${t}hello world${t}1" \
    "write${t}2" "read:${t}true${t}hello world${t}2" \
    "write${t}3" "read:${t}true${t}hello world${t}3" \
    "write${t}4" "read:${t}true${t}hello world${t}4" "write${t}5"
}

check_testdatasheet() {
  local line
  for line in "\[CHILD\]${t}a${t}1" "\[CHILD\]${t}b${t}2" "\[CHILD\]\.c${t}1${t}3"; do
    expect "$line"
  done
  expect "\[1\]${t}a${t}1" "sleep" "\[2\]${t}b${t}4" "\[2\.c\]${t}1${t}5" "sleep"
  expect "\[2\]\.c${t}1${t}5"
  for line in "\[3\]${t}a${t}6" "\[3\]${t}c${t}7" "\[3\]${t}d${t}8"; do
    expect "sleep" "sleep" "$line"
  done
}

check_testmulticast() {
  expect "New channel${t}\[Multicast:0\]" ":[0-9a-f]+${t}===>${t}\[Multicast:0\]"
  expect_count 10 ":[0-9a-f]+${t}sub${t}\[Multicast:0\]"
  expect_count 10 ":[0-9a-f]+ <=== :[0-9a-f]+ \[Multicast:0\]${t}Hello World"
}

# On one node there is no channel in the datacenter: each testmulticast subscriber makes a
# channel of its own, and the test's own subscriber gets the first message only (it
# unsubscribes before the second).
check_testmulticast2() {
  expect "remote start" "create local channel" \
    "======>${t}\[Multicast:[0-9a-f]+\]${t}[0-9]+${t}Remote message"
  expect_count 10 ":[0-9a-f]+${t}sub${t}\[Multicast:[0-9a-f]+\]"
  expect_count 0 ".*Remote message2"
}

# The slave reads the shared map after each commit of the writer.
check_testsm() {
  expect "x=${t}1" "y=${t}0" "s=${t}hello" "x=${t}1" "y=${t}2" "s=${t}hello" \
    "x=${t}1" "y=${t}2" "s=${t}world"
}

# The reader wakes every second and the host updates every two: which second first shows
# an update depends on the schedule (an update reaches the reader's object a moment after the
# host logs it, so the second right after may still show the old value), the order of what
# the reader sees does not.
check_examples_share() {
  expect "$addr a=1" "$addr b\[1\]=hello" "$addr b\[2\]=world" "$addr nobj\.b\[1\]=hello" \
    "$addr nobj\.b\[2\]=world" "$addr second 1" "$addr a = 1" "$addr update foobar a = 2" \
    "$addr a = 2" "$addr update foobar a = 3" "$addr second 5" "$addr a = 3" \
    "$addr .*share\.lua:[0-9]+: The key \[\.b\] doesn't exist after update" \
    "$addr b\[1\] = change" "$addr sleep" "$addr sleep"
  expect "$addr delete foobar"
}

failures=0
for entry in "${tests[@]}"; do
  name=${entry%% *}
  done_line=${entry#* }
  if declare -F "needs_${name//\//_}" >/dev/null && reason=$("needs_${name//\//_}") &&
    [ -n "$reason" ]; then
    echo "skynet-lib-tests: $name: SKIP ($reason)"
    continue
  fi
  run_test "$name" "$done_line"
  why=""
  allowed=${expected_errors[$name]:-}
  if skip=$(grep -m1 "with_[a-z]*\.sh: SKIP" "$out"); then
    echo "skynet-lib-tests: $name: $skip"
    continue
  elif ! grep -qEx -- "$done_line" "$out"; then
    why="its last line never came"
  elif [ -n "$probe_failed" ]; then
    why="the probe failed"
  elif grep -E "^\[:[0-9a-f]*\] .*(lua:[0-9]+:|init service failed)" "$out" |
    { if [ -n "$allowed" ]; then grep -vE -- "$allowed"; else cat; fi; } | grep -q .; then
    why="an error was logged"
  elif declare -F "check_${name//\//_}" >/dev/null; then
    "check_${name//\//_}"
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

# skynet's examples/main.lua (watchdog, gate, agent, simpledb, protoloader, console,
# debug_console) with examples/userlog.lua as the logger, as examples/config.userlog has them
# but with harbor 0; skynet's own examples/client.lua, run by the skynet tree's Lua 5.5 with
# its luaclib/client.so, talks to it over sproto. main.lua listens on the fixed ports 8888
# and 8000: the check is skipped when either is taken, or when the tree is not built.
run_examples_main() {
  local client_lua=$skynet_dir/3rd/lua/lua out="$work/main.out" cout="$work/client.out"
  if [ ! -x "$client_lua" ] || [ ! -f "$skynet_dir/luaclib/client.so" ]; then
    echo "skynet-lib-tests: examples/main: SKIP (the skynet tree is not built: no 3rd/lua/lua or luaclib/client.so)"
    return
  fi
  if ss -ltn 2>/dev/null | awk '{ print $4 }' | grep -qE ':(8888|8000)$'; then
    echo "skynet-lib-tests: examples/main: SKIP (port 8888 or 8000 is taken; skynet's main.lua fixes them)"
    return
  fi
  cat >"$work/main.config" <<CONFIG
root = "$skynet_dir/"
thread = 2
logger = "userlog"
logservice = "snlua"
harbor = 0
start = "main"
bootstrap = "snlua bootstrap"
lualoader = "$repo/lualib/loader.lua"
lua_path = "$repo/lualib/?.lua;$repo/lualib/?/init.lua;" .. root .. "examples/?.lua"
lua_cpath = "$repo/luaclib/?.so"
luaservice = "$repo/service/?.lua;" .. root .. "examples/?.lua"
snax = root .. "examples/?.lua;" .. root .. "test/?.lua"
CONFIG
  : >"$out"
  (cd "$skynet_dir" && exec "$starling" "$work/main.config" </dev/null) >"$out" 2>&1 &
  node_pid=$!
  why=""
  if ! wait_line "$out" ".*Watchdog listen on .*:8888" "$seconds" "$node_pid"; then
    why="the watchdog never listened"
  else
    # The client reads commands from standard input: a line is `get <line>`, `quit` ends it.
    mkfifo "$work/client.in"
    (cd "$skynet_dir" && exec stdbuf -oL "$client_lua" examples/client.lua) \
      <"$work/client.in" >"$cout" 2>&1 &
    client_pid=$!
    exec 7>"$work/client.in"
    if ! wait_line "$cout" "msg${t}Welcome to skynet, I will send heartbeat every 5 sec\." \
      "$seconds" "$client_pid"; then
      why="no handshake response"
    else
      echo hello >&7
      if ! wait_line "$cout" "result${t}world" "$seconds" "$client_pid"; then
        why="no answer to get hello"
      else
        echo quit >&7
        wait_line "$cout" ".*Server closed" "$seconds" "$client_pid" || why="quit did not close"
      fi
    fi
    exec 7>&-
    kill -TERM "$client_pid" 2>/dev/null || true
    wait "$client_pid" 2>/dev/null || true
    client_pid=""
  fi
  sleep 0.3
  kill -TERM "$node_pid" 2>/dev/null || true
  wait "$node_pid" 2>/dev/null || true
  node_pid=""
  local log=':[0-9a-f]{8}\([0-9.]+\): '
  if [ -z "$why" ]; then
    out=$cout
    expect "Request:${t}1" "Request:${t}2" "RESPONSE${t}1" \
      "msg${t}Welcome to skynet, I will send heartbeat every 5 sec\." "RESPONSE${t}2" \
      "RESPONSE${t}3" "result${t}world"
    out="$work/main.out"
    expect "${log}Server start" "${log}LAUNCH snlua protoloader" "${log}LAUNCH snlua console" \
      "${log}Start debug console at 127\.0\.0\.1:8000" "${log}LAUNCH snlua watchdog" \
      "${log}LAUNCH snlua gate" "${log}Watchdog listen on 0\.0\.0\.0:8888" \
      "${log}New client from : 127\.0\.0\.1:[0-9]+" "${log}LAUNCH snlua agent" \
      "set${t}hello${t}world" "get${t}hello" "socket close${t}[0-9]+"
    if grep -E "^${log}.*(lua:[0-9]+:|init service failed)" "$out" | grep -q .; then
      why="an error was logged"
    fi
  fi
  if [ -n "$why" ]; then
    echo "skynet-lib-tests: examples/main: FAIL, $why"
    echo "---- output of the node"
    cat "$work/main.out"
    echo "---- output of examples/client.lua"
    cat "$cout" 2>/dev/null || true
    echo "----"
    failures=$((failures + 1))
  else
    echo "skynet-lib-tests: examples/main: ok"
  fi
}
run_examples_main
finish "test(s)"
