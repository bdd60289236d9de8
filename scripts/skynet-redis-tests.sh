#!/usr/bin/env bash
# Runs skynet's own redis tests unchanged on Starling and checks what they print:
#
#   scripts/skynet-redis-tests.sh SKYNET_SOURCE_DIR
#
# test/testredis.lua, testredis2.lua, testpipeline.lua and testrediscluster.lua are read from
# the given skynet tree at run time (never copied here) and started as the node's start
# service, with Starling's lualib/ and service/. They use fixed ports (6379; 6300 with the
# password foobared; a cluster on 7000-7002), so everything runs inside a private network
# namespace (unshare -n, or unshare -rn when not root) where nothing else listens, with the
# servers of tests/support/with_redis.sh.
#
# Environment: STARLING, the binary (default: build/release/bin/starling of this tree).
# Without SKYNET_SOURCE_DIR the script prints a SKIP line and exits 0; any failed check
# prints the node's output and exits 1.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
self="$repo/scripts/skynet-redis-tests.sh"
me=skynet-redis-tests
# shellcheck source=lib/common.sh
source "$repo/scripts/lib/common.sh"

need_skynet_tree "scripts/skynet-redis-tests.sh SKYNET_SOURCE_DIR" "${1:-}" test/testredis.lua \
  test/testredis2.lua test/testpipeline.lua test/testrediscluster.lua
need_starling "$repo"
enter_netns SKYNET_REDIS_TESTS_PHASE bash "$self" "$skynet_dir"
if [ "$SKYNET_REDIS_TESTS_PHASE" = netns ]; then
  fixture="$repo/tests/support/with_redis.sh"
  SKYNET_REDIS_TESTS_PHASE=run exec "$fixture" --port 6379 -- \
    "$fixture" --port 6300 --requirepass foobared -- \
    "$fixture" --no-standalone --cluster 3 --cluster-ports 7000,7001,7002 -- \
    bash "$self" "$skynet_dir"
fi
scratch_dir

# run_node TEST LAST_LINE SECONDS: runs the node with the test as its start service until it
# prints LAST_LINE (a whole line, exactly) plus a moment for late output, or SECONDS pass.
# skynet's tests never end the node, so it is killed afterwards. Output: $work/TEST.out.
run_node() {
  local test=$1 last=$2 seconds=$3 out="$work/$1.out"
  starling_config "$repo" "$test" "$skynet_dir/test/?.lua" >"$work/$test.config"
  : >"$out"
  (cd "$work" && exec "$starling" "$work/$test.config") >"$out" 2>&1 &
  node_pid=$!
  wait_grep "$seconds" "$node_pid" -Fx -- "$last" "$out" || true
  sleep 0.5
  kill -TERM "$node_pid" 2>/dev/null || true
  wait "$node_pid" 2>/dev/null || true
  node_pid=""
}

failures=0
# expect TEST LINE...: the output contains these lines in this order (other lines may come
# between). A LINE starting with ~ is an extended regular expression for the whole line.
expect() {
  local test=$1 out="$work/$1.out" missing
  shift
  missing=$(printf '%s\n' "$@" | awk '
    NR == FNR { want[++n] = $0; next }
    i < n && (substr(want[i + 1], 1, 1) == "~" ? $0 ~ ("^" substr(want[i + 1], 2) "$") : $0 == want[i + 1]) { i++ }
    END { if (i < n) print want[i + 1] }' - "$out")
  if [ -n "$missing" ]; then
    echo "skynet-redis-tests: $test: FAIL, expected line not found (in order): $missing"
    echo "---- output of $test"
    cat "$out"
    echo "----"
    failures=$((failures + 1))
    return
  fi
  if grep -q "^\[:[0-9a-f]*\] .*lua:[0-9]*:" "$out"; then
    echo "skynet-redis-tests: $test: FAIL, an error was logged"
    cat "$out"
    failures=$((failures + 1))
    return
  fi
  echo "skynet-redis-tests: $test: ok"
}

tab=$'\t'

run_node testredis "Watch${tab}20${tab}hello.foo${tab}hello.*" 30
hvals=()
for i in $(seq 1 10); do hvals+=("$i$tab$i"); done
watch=()
for i in $(seq 1 10); do watch+=("Watch$tab$i${tab}foo"); done
for i in $(seq 11 20); do watch+=("Watch$tab$i${tab}hello.foo${tab}hello.*"); done
expect testredis hello world "${hvals[@]}" "Exec${tab}hello" "Exec${tab}world" \
  true hello OK "hello world" true false "===========publish============" "${watch[@]}"

# add1 passes 500,000 arguments to one call; with Lua's stack limit of 1,000,000 slots the
# copy of its varargs overflows, on skynet as here, and the test prints that and goes on.
run_node testredis2 "redistest launched" 120
expect testredis2 "dbsize:${tab}0" "~add1 (succeed|failed${tab}.*: stack overflow)" "add2 succeed" \
  "~dbsize:${tab}[12]" "redistest launched"

run_node testpipeline "test table" 30
expect testpipeline "test function" "~[123]$tab[123]" "~[123]$tab[123]" "~[123]$tab[123]" \
  "test table" 2 1 OK "~[123]$tab[123]" "~[123]$tab[123]" "~[123]$tab[123]"

run_node testrediscluster "eval#get${tab}ok" 60
expect testrediscluster 1 2 3 "key1${tab}1" "key2${tab}2" OK 1 "~cnt:$tab[0-9]+" OK 1 \
  "true${tab}1" "true${tab}1" "true${tab}OK" true 1 1 2 2 3 3 "~dbsize:$tab[0-9]+" \
  "cluster nodes" "cluster slots" "eval#get${tab}ok"
# Messages arrive on other connections, in any order. The test publishes right after each
# (p)subscribe without waiting for its confirmation, so the first publish after a
# psubscribe may come before the subscription and be lost (on skynet too): only the second
# one is checked.
for line in "onmessage${tab}hello,world${tab}world${tab}nil" \
  "onmessage${tab}hello,my team${tab}myteam${tab}nil" \
  "onmessage${tab}hello,2team${tab}{tag}2team${tab}{tag}*team" \
  "onmessage${tab}hello,2team${tab}2team${tab}*team"; do
  expect testrediscluster "$line"
done
finish "check(s)"
