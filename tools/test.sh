#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test with ctest — first
# under AddressSanitizer and UBSan (build-asan/, any report aborts the process and fails the
# test), then the release build (build/). Its last line is ctest's summary of the release run;
# it exits non-zero if either run failed.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
jobs=$(nproc)

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DAPIBOUNCER_FUZZ=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer" >/dev/null
cmake --build build-asan -j"$jobs"
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
asan_status=0
ctest --test-dir build-asan --output-on-failure -j2 || asan_status=$?
unset ASAN_OPTIONS UBSAN_OPTIONS

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
status=0
ctest --test-dir build --output-on-failure -j2 || status=$?
[ "$asan_status" -eq 0 ] || exit "$asan_status"
exit "$status"
