# shellcheck shell=bash disable=SC2154 # me and failures are the sourcing script's
# Sourced by the scripts (and bench scripts) that run nodes of Starling or of a skynet tree.
# The sourcing script sets `me`, the name its lines start with, first.

die() {
  echo "$me: $*" >&2
  exit 1
}

# need_skynet_tree USAGE DIR [FILE...]: sets skynet_dir to DIR made absolute, after checking
# that each FILE is in it. Without DIR: prints a SKIP line naming USAGE and exits 0.
need_skynet_tree() {
  local usage=$1 dir=${2:-} f
  shift 2
  if [ -z "$dir" ]; then
    echo "$me: SKIP: no skynet tree given (usage: $usage)"
    exit 0
  fi
  skynet_dir=$(cd "$dir" && pwd) || die "no directory $dir"
  for f in "$@"; do
    [ -f "$skynet_dir/$f" ] || die "$skynet_dir/$f not found"
  done
}

# need_starling REPO: sets starling to the absolute path of the binary, $STARLING or the
# release build of REPO.
need_starling() {
  starling=${STARLING:-$1/build/release/bin/starling}
  [ -x "$starling" ] || die "no Starling binary at $starling (build it, or set STARLING)"
  starling=$(cd "$(dirname "$starling")" && pwd)/$(basename "$starling")
}

# starling_config REPO START SERVICES: a config that starts START on Starling with REPO's
# lualib/ and service/, then the service search path SERVICES.
starling_config() {
  cat <<CONFIG
thread = 2
harbor = 0
bootstrap = "snlua bootstrap"
start = "$2"
lualoader = "$1/lualib/loader.lua"
lua_path = "$1/lualib/?.lua;$1/lualib/?/init.lua"
lua_cpath = "$1/luaclib/?.so"
luaservice = "$1/service/?.lua;$3"
CONFIG
}

# enter_netns VAR COMMAND...: when the variable named VAR is empty, runs COMMAND (the script
# again) with VAR=netns in a private network namespace, where nothing else listens on the
# fixed ports skynet's examples use (unshare -n, or unshare -rn when not root), and does not
# return. With VAR=netns (inside): brings the loopback interface up. With any other value (a
# later phase of the script) it does nothing.
enter_netns() {
  local var=$1 ns=(unshare -n)
  shift
  case "${!var:-}" in
    "")
      [ "$(id -u)" = 0 ] || ns=(unshare -rn)
      exec env "$var=netns" "${ns[@]}" "$@" || die "cannot create a network namespace with ${ns[*]}"
      ;;
    netns) ip link set lo up ;;
  esac
}

# wait_grep SECONDS PID GREP_ARG...: until `grep -q GREP_ARG...` succeeds, or the process PID
# (when not empty) has ended, or SECONDS passed; returns that grep's status.
wait_grep() {
  local seconds=$1 pid=$2 i
  shift 2
  for ((i = 0; i < seconds * 10; i++)); do
    grep -q "$@" 2>/dev/null && return 0
    [ -z "$pid" ] || kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q "$@" 2>/dev/null
}

# scratch_dir: sets work to a new directory, removed when the script exits, after the node
# (and the client) whose pid is in node_pid (client_pid) is killed.
scratch_dir() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/$me.XXXXXX")
  node_pid=""
  client_pid=""
  trap 'scratch_cleanup' EXIT
}
scratch_cleanup() {
  [ -z "$node_pid" ] || kill -KILL "$node_pid" 2>/dev/null || true
  [ -z "$client_pid" ] || kill -KILL "$client_pid" 2>/dev/null || true
  rm -rf "$work"
}

# finish WHAT: the last line; exits 1 when failures (the count of failed WHAT) is not 0.
finish() {
  if [ "$failures" -gt 0 ]; then
    echo "$me: $failures $1 failed"
    exit 1
  fi
  echo "$me: all passed"
}
