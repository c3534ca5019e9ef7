#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test with ctest.
# Its last line is ctest's summary; it exits with ctest's status.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
exec ctest --test-dir build --output-on-failure -j2
