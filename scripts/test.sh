#!/usr/bin/env bash
# One command: install dependencies, build, and run the whole test suite.
# POSTBOX_SANITIZE=1 builds with ASan and UBSan into build-asan instead.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if [[ "${POSTBOX_SANITIZE:-0}" == 1 ]]; then
  export POSTBOX_BUILD_DIR=build-asan
  scripts/build.sh -DBUILD_TESTING=ON -DPOSTBOX_SANITIZE=ON
else
  scripts/build.sh -DBUILD_TESTING=ON
fi
cd "${POSTBOX_BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)" --timeout 300
