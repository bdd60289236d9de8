#!/usr/bin/env bash
# Instructions per operation of a skynet benchmark script, counted by callgrind: a figure that
# does not move with the machine's load or mode, for comparing two builds of the call path.
#
#   bench/instructions.sh call_rtt    instructions per call round trip (caller + callee)
#   bench/instructions.sh send_rate   instructions per one-way message
#
# The node runs with one worker, so no idle worker's spinning is counted. Boot and warm-up are
# removed by running the script at two scales and dividing the difference of the totals by
# the difference in operations. The count still moves by about 1.5 % from run to run (the
# timer thread, and what the clock decides in the script), so it prints the median of RUNS
# pairs. Needs valgrind and skynet's benchmark scripts, which are not part of this repository
# (docs/PERFORMANCE.md): without them it says so and skips. Env: STARLING (the binary, default
# build/release/bin/starling), BENCH_LUA (the folder of bench_<name>.lua, default
# ../shared/bench/lua beside the repository), RUNS (default 3).
set -euo pipefail

bench=${1:?usage: bench/instructions.sh call_rtt|send_rate}
root=$(cd "$(dirname "$0")/.." && pwd)
starling=${STARLING:-$root/build/release/bin/starling}
lua_dir=${BENCH_LUA:-$root/../shared/bench/lua}

case $bench in
  call_rtt) ops_per_scale=500000 ;;   # 200,000 calls with 1 coroutine, 300,000 with 64
  send_rate) ops_per_scale=2000000 ;; # 1,000,000 messages 1 -> 1, 1,000,000 4 -> 1
  *) echo "unknown benchmark: $bench" >&2; exit 2 ;;
esac

command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
if [[ ! -f $lua_dir/bench_$bench.lua ]]; then
  echo "skipped: no bench_$bench.lua in $lua_dir (set BENCH_LUA to the folder of skynet's" \
    "benchmark scripts)" >&2
  exit 0
fi
lua_dir=$(cd "$lua_dir" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# instructions SCALE: the total callgrind counts for one run at that scale.
instructions() {
  cat >"$work/config" <<EOF
thread = 1
harbor = 0
logger = nil
profile = false
bootstrap = "snlua bootstrap"
start = "bench_$bench"
lualoader = [[$root/lualib/loader.lua]]
lua_path = [[$root/lualib/?.lua;$root/lualib/?/init.lua;$lua_dir/?.lua]]
luaservice = [[$root/service/?.lua;$lua_dir/?.lua]]
bench_scale = "$1"
bench_maxtime = "600"
bench_phase_time = "600"
EOF
  (cd "$root" && valgrind --tool=callgrind --callgrind-out-file="$work/out" \
    "$starling" "$work/config") >"$work/log" 2>&1
  if ! grep -q '^RESULT' "$work/log"; then
    echo "the run at scale $1 gave no RESULT line:" >&2
    tail -20 "$work/log" >&2
    exit 1
  fi
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/log"
}

small=0.05
large=0.1
for _ in $(seq "${RUNS:-3}"); do
  a=$(instructions $small)
  b=$(instructions $large)
  awk -v a="$a" -v b="$b" -v s="$small" -v l="$large" -v n="$ops_per_scale" \
    'BEGIN { printf "%.0f\n", (b - a) / ((l - s) * n) }'
done | sort -n | tee "$work/each" >/dev/null
awk -v name="$bench" '{ v[NR] = $1 } END {
  printf "%s: %d instructions per operation (median of %d:", name, v[int((NR + 1) / 2)], NR
  for (i = 1; i <= NR; ++i) printf " %d", v[i]
  print ")"
}' "$work/each"
