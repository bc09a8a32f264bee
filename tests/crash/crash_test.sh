#!/bin/sh
# crash_test.sh — long runs of the store crash test (tests/unit/store/test_crash.c).
#
#   tests/crash/crash_test.sh [N] [build-dir]
#
# N iterations (default 1000) of: start tests/tools/crash_writer, SIGKILL it at a random
# moment, reopen the store and verify every acknowledged record. `make crash-test N=1000`
# should call this. WEIR_CRASH_SEED=<n> replays a run.
set -eu
N=${1:-1000}
BUILD=${2:-build}
if [ ! -x "$BUILD/store_test_crash" ] || [ ! -x "$BUILD/crash_writer" ]; then
    echo "crash_test.sh: build first (missing $BUILD/store_test_crash or $BUILD/crash_writer)" >&2
    exit 1
fi
WEIR_CRASH_ITERS=$N WEIR_TOOLS_DIR=$(cd "$BUILD" && pwd) exec "$BUILD/store_test_crash"
