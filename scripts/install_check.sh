#!/usr/bin/env bash
# What a user of the installed package gets: installs this build into a throwaway prefix,
# builds examples/external_module against it (find_package(Starling)) and the same module
# with pkg-config, then runs nodes from the installed binary that load each module through
# cpath, and the example's own executable (starling::run_node). Exits 0 when every node
# greeted. BUILD names the configured build tree (default build/release; it is built first).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build/release}
example=$PWD/examples/external_module

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "install_check: $*" >&2
  exit 1
}

cmake --build "$build" -j "${JOBS:-2}" >/dev/null
cmake --install "$build" --prefix "$work/prefix" >/dev/null
prefix=$work/prefix
[ -x "$prefix/bin/starling" ] || fail "no installed binary"
pc_dir=$(dirname "$(find "$prefix" -name starling.pc -print -quit)")

# The CMake package.
cmake -S "$example" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log" >&2; fail "the example does not configure"; }
cmake --build "$work/build" -j "${JOBS:-2}" >"$work/build.log" 2>&1 ||
  { cat "$work/build.log" >&2; fail "the example does not build"; }

# pkg-config: the module and the executable by hand, in a directory of their own.
mkdir -p "$work/pc"
# shellcheck disable=SC2046 # pkg-config's output is a list of flags
c++ -shared -fPIC -O2 -Wall -Wextra -Werror -Wno-missing-field-initializers \
  $(PKG_CONFIG_PATH=$pc_dir pkg-config --cflags starling-module) \
  "$example/greeter.cpp" "$example/module.cpp" -o "$work/pc/greeter.so" \
  $(PKG_CONFIG_PATH=$pc_dir pkg-config --libs starling-module) ||
  fail "the module does not build with pkg-config"
# shellcheck disable=SC2046
c++ -O2 -Wall -Wextra -Werror -Wno-missing-field-initializers \
  $(PKG_CONFIG_PATH=$pc_dir pkg-config --cflags starling) \
  "$example/my_node.cpp" "$example/greeter.cpp" -o "$work/pc/my_node" \
  $(PKG_CONFIG_PATH=$pc_dir pkg-config --libs starling) ||
  fail "the own executable does not build with pkg-config"

# run <label> <binary> <module directory> <start>: the node must exit 0 and greet.
run() {
  local out=$work/$1.out
  GREETER_CSERVICE=$3 GREETER_START=$4 timeout 60 "$2" "$example/config" >"$out" 2>&1 ||
    { cat "$out" >&2; fail "$1: the node failed"; }
  grep -q "greeter: hello, Ada" "$out" || { cat "$out" >&2; fail "$1: no greeting"; }
  echo "install_check: $1: $(grep -o 'greeter: hello, Ada' "$out")"
}
run cmake-module "$prefix/bin/starling" "$work/build/cservice" "greeter Ada"
run pkg-config-module "$prefix/bin/starling" "$work/pc" "greeter Ada"
run own-executable "$work/build/my_node" "$work/build/cservice" "greeter_inside Ada"
run pkg-config-executable "$work/pc/my_node" "$work/pc" "greeter_inside Ada"
# The own executable loads cpath modules too.
run own-executable-cpath "$work/build/my_node" "$work/build/cservice" "greeter Ada"
echo "install_check: ok"
