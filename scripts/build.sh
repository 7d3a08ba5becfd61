#!/usr/bin/env bash
# Configures and builds postbox into ./build (or $POSTBOX_BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${POSTBOX_BUILD_DIR:-build}"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE="${POSTBOX_BUILD_TYPE:-RelWithDebInfo}" "$@"
cmake --build "$build" -j "$(nproc)"
