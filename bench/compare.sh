#!/usr/bin/env bash
# Runs skynet's benchmark scripts on a reference skynet build and on Starling back to back, and
# prints every figure of both with its ratio: the only comparison this machine allows, since
# its speed drifts by up to 1.7x from day to day (docs/PERFORMANCE.md).
#
#   bench/compare.sh SKYNET_DIR [BENCH ...]      (default: call_rtt send_rate spawn_ring timer gate_echo)
#
# SKYNET_DIR is a built skynet tree (its ./skynet binary is run in place). For each benchmark,
# skynet runs first and Starling right after, with the same RUNS, THREADS and EXTRA_CONFIG
# (passed to run.sh as they are). Env: BENCH_DIR, the folder of run.sh (default: ../shared/bench
# beside this repository); STARLING, the binary (default build/release/bin/starling);
# CEILING=1 also runs bench/echo_ceiling (built in build/release) after gate_echo; LOAD=<n> runs
# the timer benchmark with n callers making calls back to back in the same node
# (bench/lua/timer_under_load.lua; the other benchmarks are unchanged); RAW=<dir> keeps each
# run.sh output there.
#
# Output: a header with the date and settings, then one line per figure:
#   <bench> <metric> skynet=<median> starling=<median> unit=<u> ratio=<starling/skynet> <better>
# where <better> says which side the figure favours (lower is better for times, lateness and
# sizes, higher for rates). Without SKYNET_DIR it prints a SKIP line and exits 0.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
me=compare
# shellcheck source=../scripts/lib/common.sh
source "$root/scripts/lib/common.sh"
need_skynet_tree "bench/compare.sh SKYNET_DIR [BENCH ...]" "${1:-}" skynet
shift
bench_dir=${BENCH_DIR:-$root/../shared/bench}
[ -x "$bench_dir/run.sh" ] || die "no run.sh in $bench_dir (set BENCH_DIR)"
bench_dir=$(cd "$bench_dir" && pwd)
need_starling "$root"
benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=(call_rtt send_rate spawn_ring timer gate_echo)
raw=${RAW:-$(mktemp -d)}
# The config is Lua on both sides: the lines appended last override run.sh's start service and
# extend its service path to this repository's bench/lua.
load_config=""
if [ -n "${LOAD:-}" ]; then
  load_config="start = \"timer_under_load\"
luaservice = luaservice .. \";$root/bench/lua/?.lua\"
bench_load_pairs = \"$LOAD\""
fi
mkdir -p "$raw"

echo "# compare $(date -u '+%Y-%m-%d %H:%M UTC'): RUNS=${RUNS:-5} THREADS=${THREADS:-2}" \
  "EXTRA_CONFIG='${EXTRA_CONFIG:-}'${LOAD:+ LOAD=$LOAD} (medians of RUNS; skynet then Starling for each benchmark)"

# run SIDE BENCH: run.sh's BENCH lines for one side, kept in $raw/SIDE.BENCH.
run() {
  local side=$1 bench=$2 cmd dir
  if [ "$side" = skynet ]; then cmd=./skynet dir=$skynet_dir; else cmd=$starling dir=$root; fi
  local extra=${EXTRA_CONFIG:-}
  if [ "$bench" = timer ] && [ -n "$load_config" ]; then extra="$extra
$load_config"; fi
  (cd "$bench_dir" && EXTRA_CONFIG=$extra RUNTIME_CMD=$cmd RUNTIME_ROOT=$dir ./run.sh "$bench") \
    >"$raw/$side.$bench" 2>&1 || true
  grep -E '^(BENCHFAIL|# NOISE)' "$raw/$side.$bench" | sed "s/^/# $side: /" || true
}

# median FILE METRIC: the median of a figure, or "-".
median() {
  awk -v m="$2" '$1 == "BENCH" && $3 == m { sub("median=", "", $4); print $4; found = 1 }
    END { if (!found) print "-" }' "$1"
}

for bench in "${benches[@]}"; do
  run skynet "$bench"
  run starling "$bench"
  awk '$1 == "BENCH" { print $3, $NF }' "$raw/skynet.$bench" "$raw/starling.$bench" | sort -u -k1,1 |
    while read -r metric unit; do
      unit=${unit#unit=}
      a=$(median "$raw/skynet.$bench" "$metric")
      b=$(median "$raw/starling.$bench" "$metric")
      awk -v bench="$bench" -v m="$metric" -v a="$a" -v b="$b" -v u="$unit" 'BEGIN {
        lower = (u ~ /^(ms|us|ns|s|KiB|MiB|bytes|B|us\/timer)$/ || m ~ /(late|time|rtt|p50|p99|overhead|rss)/)
        if (a == "-" || b == "-" || a + 0 == 0) { r = "-"; better = "" }
        else {
          r = sprintf("%.2fx", b / a)
          better = (lower ? (b + 0 <= a + 0) : (b + 0 >= a + 0)) ? "starling" : "skynet"
          if (a + 0 < 0 || b + 0 < 0) { r = "-"; better = (b + 0 <= a + 0) ? "starling" : "skynet" }
        }
        printf "%s %s skynet=%s starling=%s unit=%s ratio=%s %s\n", bench, m, a, b, u, r, better
      }'
    done
  if [ "$bench" = gate_echo ] && [ "${CEILING:-0}" = 1 ]; then
    ceiling=$root/build/release/bin/echo_ceiling
    if [ -x "$ceiling" ]; then
      "$ceiling" 5 "${RUNS:-5}" | sed 's/^/echo_ceiling /'
    else
      echo "# echo_ceiling is not built (make build)"
    fi
  fi
done
[ -n "${RAW:-}" ] || rm -rf "$raw"
