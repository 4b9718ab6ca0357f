#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running gateway: installs
# what is missing, builds the release binary, and starts `sovgw run` on its
# embedded default policy. Proxy on 127.0.0.1:3128, admin on 127.0.0.1:9090,
# state (compiled policy store) under ./var/. Extra arguments go to `sovgw run`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)"

exec build/release/sovgw run --listen 127.0.0.1:3128 --admin 127.0.0.1:9090 "$@"
