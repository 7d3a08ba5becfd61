#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, then builds and runs a
# consumer project against it with find_package(postbox).
set -euo pipefail
# $3: extra compiler flags, the sanitizers when the tree was built with them
# (an instrumented libpostbox needs an instrumented program around it).
build="$1" consumer="$2" flags="${3:-}"
work=$(mktemp -d /tmp/postbox-install-XXXXXX)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
cmake -S "$consumer" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" > "$work/configure.log"
cmake --build "$work/build" > "$work/build.log"
"$work/build/consumer" "$work/no-broker-here.sock"
test -x "$work/prefix/bin/postbox"
test -x "$work/prefix/sbin/postboxd"
