#!/usr/bin/env bash
# One command: install dependencies, build, and run postboxd on its embedded defaults.
# Extra arguments go to postboxd (e.g. --socket /tmp/pb.sock).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DBUILD_TESTING=OFF  # RelWithDebInfo, as the tests build it
exec build/broker/postboxd "$@"
