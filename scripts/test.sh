#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to the whole test suite: installs
# what is missing, builds with ASan+UBSan (clang, libFuzzer targets included)
# and the warning-clean release build, then runs every unit test, integration
# test (real sovgw, real local servers and clients; the busiest suites also
# against the release binary) and fuzz target. ctest's
# summary is the last thing printed. Set SGW_FUZZ_SECONDS to change the fuzz time.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
jobs=$(nproc)
cmake --preset release >/dev/null
cmake --build --preset release -j"$jobs"
cmake --preset asan -DSGW_FUZZ_SECONDS="${SGW_FUZZ_SECONDS:-30}" \
  -DSGW_RELEASE_SOVGW="$PWD/build/release/sovgw" >/dev/null
cmake --build --preset asan -j"$jobs"
cd build/asan
exec ctest --output-on-failure -j"$jobs" --timeout 900
