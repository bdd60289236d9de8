#!/usr/bin/env bash
# The soak test (docs/TESTING.md, "Soak"): one node under every kind of load at once for
# SOAK_SECONDS (default 120), then checks that it came back: RSS within a bound of the baseline
# taken after a warm-up, open fds back to that baseline, every call answered or failed, no load
# error, nothing in the log outside an allow-list, and a graceful SIGTERM (exit 0). Prints one
# `SOAK <figure>` line per figure; exits 0 when every check passed.
#   STARLING      the binary (default build/release/bin/starling)
#   SOAK_SECONDS  how long the load runs (default 120)
#   SOAK_WARMUP   the warm-up's length in seconds, before the baseline (default 5)
#   SOAK_LOADS    only these loads, e.g. "gate,console" (of gate, spawn, console, flood; all by
#                 default): to find which one a problem comes with
#   SOAK_RSS_SLACK_KIB  how far above the baseline the final RSS may be (default 32768)
#   SOAK_KEEP     1: keep the scratch directory (it is kept anyway when a check fails)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
starling=${STARLING:-build/release/bin/starling}
export SOAK_SECONDS=${SOAK_SECONDS:-120}
export SOAK_WARMUP=${SOAK_WARMUP:-5}
export SOAK_LOADS=${SOAK_LOADS:-}
rss_slack=${SOAK_RSS_SLACK_KIB:-32768}
export SOAK_ROOT=$root
SOAK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/soak.XXXXXX")
export SOAK_DIR
log=$SOAK_DIR/node.log
pid=""
failures=()

cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [ "${SOAK_KEEP:-0}" = 1 ] || [ ${#failures[@]} -gt 0 ]; then
    echo "soak: the node's config, log and output are in $SOAK_DIR" >&2
  else
    rm -rf "$SOAK_DIR"
  fi
}
trap cleanup EXIT

fail() {
  failures+=("$*")
  echo "soak: FAIL: $*" >&2
}

# Stops at once: the node's log and output, then exit 1.
abort() {
  fail "$*"
  echo "--- last lines of the node's log ---" >&2
  tail -n 40 "$log" >&2 || true
  echo "--- the node's stdout and stderr ---" >&2
  cat "$SOAK_DIR/output" >&2 || true
  exit 1
}

status_kib() { # status_kib <field>: VmRSS, VmHWM, ... of the node in KiB
  awk -v f="$1:" '$1 == f { print $2 }' "/proc/$pid/status"
}
fds() { ls "/proc/$pid/fd" | wc -l; }

# wait_for <seconds> <command...>: polls the command every 0.2 s until it succeeds.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    kill -0 "$pid" 2>/dev/null || abort "the node exited (while waiting for: $*)"
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}
logged() { grep -qx "$1" "$log" 2>/dev/null; }

"$starling" tests/soak/config >"$SOAK_DIR/output" 2>&1 </dev/null &
pid=$!
echo "soak: node $pid, load for $SOAK_SECONDS s after a $SOAK_WARMUP s warm-up, in $SOAK_DIR"

wait_for $((SOAK_WARMUP + 120)) logged '.* SOAK warm' || abort "no warm-up end in the log"
# The baseline, once RSS stopped moving (the node trims its heap after a flood drains): two
# readings a second apart within 1 MiB, or the last reading after 20 s.
rss_settled() {
  local a b
  a=$(status_kib VmRSS)
  sleep 1
  b=$(status_kib VmRSS)
  [ $((a > b ? a - b : b - a)) -lt 1024 ]
}
wait_for 20 rss_settled || true
rss_base=$(status_kib VmRSS)
fds_base=$(fds)
touch "$SOAK_DIR/go"

wait_for $((SOAK_SECONDS + 240)) logged '.* SOAK drained' || abort "the load did not end and drain"
rss_peak=$(status_kib VmHWM)
fds_back() { [ "$(fds)" -eq "$fds_base" ]; }
wait_for 30 fds_back || fail "open fds: $(fds), baseline $fds_base (30 s after the drain)"
fds_final=$(fds)
rss_bound=$((rss_base + rss_slack))
rss_back() { [ "$(status_kib VmRSS)" -le "$rss_bound" ]; }
wait_for 30 rss_back || fail "RSS $(status_kib VmRSS) KiB, over the bound $rss_bound KiB (baseline $rss_base + $rss_slack) 30 s after the drain"
rss_final=$(status_kib VmRSS)

# The graceful stop: SIGTERM, exit 0 within 30 s.
kill -TERM "$pid"
if timeout 30 tail --pid="$pid" -f /dev/null; then
  status=0
  wait "$pid" || status=$?
  pid=""
  [ "$status" -eq 0 ] || fail "the node exited with status $status after SIGTERM"
else
  abort "the node did not stop within 30 s of SIGTERM"
fi

# The load's counters, from the `SOAK figure <name> <value>` lines.
figure() { sed -n "s/.* SOAK figure $1 \([0-9]*\)\$/\1/p" "$log" | tail -n 1; }
n() { local v; v=$(figure "$1"); echo "${v:-0}"; }
[ -n "$(figure seconds)" ] || fail "no SOAK figure lines in the log"
made=$(n calls_made) answered=$(n calls_answered) failed=$(n calls_failed)
[ "$made" -eq $((answered + failed)) ] ||
  fail "calls: made $made, answered $answered, failed $failed: $((made - answered - failed)) outstanding"
for bad in stuck errors echo_wrong flood_wrong console_wrong connect_failed; do
  [ "$(n $bad)" -eq 0 ] || fail "load counter $bad is $(n $bad)"
done
if [ -z "$SOAK_LOADS" ]; then
  for some in echoed spawned killed flood_frames write_limit_closes burst_sends console_ok; do
    [ "$(n $some)" -gt 0 ] || fail "load counter $some is 0: that load did not run"
  done
fi

# Every log line must be one the load explains (tests/soak/allowed.txt); stdout/stderr empty.
unexpected=$(sed 's/^[^[]*\[[^]]*\] //' "$log" | grep -v -E -f tests/soak/allowed.txt || true)
if [ -n "$unexpected" ]; then
  fail "$(printf '%s\n' "$unexpected" | wc -l) log line(s) outside the allow-list, the first ones:"
  printf '%s\n' "$unexpected" | head -n 20 >&2 || true
fi
[ ! -s "$SOAK_DIR/output" ] || fail "the node wrote to stdout or stderr: $(head -c 2000 "$SOAK_DIR/output")"

echo "SOAK duration $(n seconds) s (after a $SOAK_WARMUP s warm-up)"
echo "SOAK connections $(($(n connections) + $(n console_requests))) (gate $(n gate_connections), console $(n console_requests))"
echo "SOAK gate clients: messages echoed $(n echoed), dropped mid-frame $(n dropped_mid_frame), unread $(n dropped_unread), at once $(n dropped_at_once)"
echo "SOAK services spawned $(n spawned), killed $(n killed)"
echo "SOAK calls made $made, answered $answered, failed $failed"
echo "SOAK floods: burst sends $(n burst_sends), backpressured frames $(n flood_frames), write-limit closes $(n write_limit_closes), gate warnings $(n gate_warnings)"
echo "SOAK console requests $(n console_requests), answers checked $(n console_ok), dropped $(n console_dropped)"
echo "SOAK RSS baseline $rss_base KiB, peak $rss_peak KiB, final $rss_final KiB (bound $rss_bound KiB)"
echo "SOAK fds baseline $fds_base, final $fds_final"
if [ ${#failures[@]} -gt 0 ]; then
  echo "soak: ${#failures[@]} check(s) failed" >&2
  exit 1
fi
echo "soak: passed"
