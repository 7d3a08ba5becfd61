#!/usr/bin/env bash
# Installs what building and testing postbox needs, from Debian 12's packages.
set -euo pipefail

packages=(
  g++ cmake make
  libboost-dev          # Asio (event loop, sockets), Intrusive (queue indexes), Interprocess
  nlohmann-json3-dev    # config file, admin bodies, --json output
  libspdlog-dev         # postboxd's logs
  libcli11-dev          # command-line parsing for postboxd and postbox
  libgtest-dev libgmock-dev  # the test suite
  libbenchmark-dev      # bench/
  strace                # tests/integration/durable_fault_test: injects fdatasync/pwrite64 faults
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
