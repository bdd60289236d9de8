#!/usr/bin/env bash
# Runs a command with a throwaway MariaDB server on a free loopback port, then stops it.
#
#   tests/support/with_mariadb.sh [--timeout S] [--port P] [--root-password PW] -- command...
#
# The server (Debian's mariadb-server: mariadb-install-db and mariadbd) runs as the current
# user with a private data directory and socket under one temporary directory, bound to
# 127.0.0.1. It has a database `skynet`, and the accounts root@localhost (socket only) and
# 'sk'@'127.0.0.1' / 'sk'@'localhost' with password 123456 (mysql_native_password, all
# privileges). --port takes that port (default: a free one; skynet's test/testmysql.lua wants
# 3306), --root-password gives root@localhost a password once the accounts are made. A TERM
# or INT is passed on to the command. The command sees MYSQL_PORT and MYSQL_SOCKET. On exit (also on failure or a
# signal) the server is stopped and the directory removed. The exit status is the command's,
# 1 when the server could not be started, or 77 (with a SKIP line) when MariaDB is not
# installed.
set -euo pipefail

die() {
  echo "with_mariadb.sh: $*" >&2
  exit 1
}

run_timeout=""
fixed_port=""
root_password=""
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) run_timeout=$2; shift 2 ;;
    --port) fixed_port=$2; shift 2 ;;
    --root-password) root_password=$2; shift 2 ;;
    --) shift; break ;;
    *) die "unknown option $1" ;;
  esac
done
[ $# -gt 0 ] || die "usage: with_mariadb.sh [--timeout S] -- command [args...]"

for tool in mariadbd mariadb-install-db mariadb mariadb-admin; do
  if ! command -v "$tool" >/dev/null && ! [ -x "/usr/sbin/$tool" ]; then
    echo "with_mariadb.sh: SKIP: $tool not found (install mariadb-server; scripts/deps.sh does)"
    exit 77
  fi
done
PATH=$PATH:/usr/sbin

root=$(mktemp -d "${TMPDIR:-/tmp}/starling-mariadb.XXXXXX")
server_pid=""
stop_all() {
  local i
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.05
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$root"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

user=$(id -un)
mariadb-install-db --no-defaults --user="$user" --datadir="$root/data" \
  --auth-root-authentication-method=normal --skip-test-db >"$root/install.log" 2>&1 ||
  { cat "$root/install.log" >&2; die "mariadb-install-db failed"; }

# Ports below the kernel's ephemeral range, so that no outgoing connection holds them.
read -r eph_low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || eph_low=32768
sock="$root/sock"
started=0
for ((attempt = 0; attempt < 20 && started == 0; attempt++)); do
  port=${fixed_port:-$((10000 + (RANDOM * 32768 + RANDOM) % (eph_low - 10000)))}
  mariadbd --no-defaults --user="$user" --datadir="$root/data" --skip-networking=0 \
    --bind-address=127.0.0.1 --port="$port" --socket="$sock" --pid-file="$root/pid" \
    --log-error="$root/server.log" --skip-log-bin --innodb-buffer-pool-size=16M \
    </dev/null >/dev/null 2>&1 &
  server_pid=$!
  for ((i = 0; i < 600; i++)); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      wait "$server_pid" 2>/dev/null || true
      server_pid=""
      [ -z "$fixed_port" ] || attempt=20 # the port is taken: give up
      break # most likely the port was taken: another one
    fi
    if mariadb-admin --no-defaults -S "$sock" -uroot ping >/dev/null 2>&1; then
      started=1
      break
    fi
    sleep 0.05
  done
done
[ "$started" = 1 ] || { cat "$root/server.log" >&2 2>/dev/null || true; die "could not start mariadbd"; }

mariadb --no-defaults -S "$sock" -uroot -e "
  CREATE DATABASE skynet;
  CREATE USER 'sk'@'127.0.0.1' IDENTIFIED BY '123456';
  CREATE USER 'sk'@'localhost' IDENTIFIED BY '123456';
  GRANT ALL ON *.* TO 'sk'@'127.0.0.1';
  GRANT ALL ON *.* TO 'sk'@'localhost';" || die "could not create the test accounts"
if [ -n "$root_password" ]; then
  mariadb --no-defaults -S "$sock" -uroot \
    -e "ALTER USER 'root'@'localhost' IDENTIFIED BY '$root_password'" || die "could not set root's password"
fi

export MYSQL_PORT=$port MYSQL_SOCKET=$sock
if [ -n "$run_timeout" ]; then
  timeout -k 5 "$run_timeout" "$@" &
else
  "$@" &
fi
cmd_pid=$!
trap 'kill -TERM "$cmd_pid" 2>/dev/null || true' INT TERM
status=0
wait "$cmd_pid" || status=$?
while kill -0 "$cmd_pid" 2>/dev/null; do # a trapped signal ended the wait early
  status=0
  wait "$cmd_pid" || status=$?
done
exit "$status"
