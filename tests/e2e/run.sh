#!/usr/bin/env bash
# Runs the end-to-end suites against the given weir binary: `run.sh BIN` every suite (then the
# realtime ones over the remote backend and over PostgreSQL), `run.sh BIN SUITE...` only those.
# Each suite starts its own server on a random port with a temporary data directory (harness.mjs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
cd "$here"
if [ ! -d node_modules/@s2-dev/streamstore ] || [ ! -d node_modules/puppeteer-core ] ||
   [ package-lock.json -nt node_modules ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
export WEIR_BIN="$bin"
# With suite names after the binary, only those suites run, once, against it (make e2e-release).
if [ $# -gt 1 ]; then
    shift
    exec node --test --test-concurrency=1 --test-timeout=120000 "$@"
fi
# ASan reports leaks at exit; the harness checks the exit status of every server it stops.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
node --test --test-concurrency=1 --test-timeout=120000 "$here"/*.test.mjs
# The realtime suites again with the realtime layer over the remote stream backend: each server
# they start is an upstream weir (the S2 endpoint) plus a realtime node holding a scoped account
# token of it (harness.mjs, WEIR_E2E_BACKEND). Same expectations, save the few marked
# embedded-only (restarts of one process, usage counters, the part-id flood).
WEIR_E2E_BACKEND=remote node --test --test-concurrency=1 --test-timeout=120000 \
    "$here"/realtime-*.test.mjs "$here"/security-realtime.test.mjs \
    "$here"/trigger-sdk.test.mjs "$here"/trigger-chat.test.mjs
# The control plane on PostgreSQL (WEIR_CONTROL_PLANE) instead of the embedded SQLite file: a
# throw-away server (scripts/pg-test.sh) shared by every weir these suites start; with it,
# multi-node.test.mjs (two realtime nodes on one PostgreSQL and one S2 endpoint) runs. These
# servers commit on their loop thread (--commit-mode loop), the first pass's on a commit thread.
WEIR_COMMIT_MODE=loop bash "$here/../../scripts/pg-test.sh" bash -c '
    port=$(echo "$WEIR_TEST_PG" | sed "s/.*port=\([0-9]*\).*/\1/")
    export WEIR_CONTROL_PLANE="postgresql://weir@127.0.0.1:$port/postgres"
    node --test --test-concurrency=1 --test-timeout=120000 "$0"/realtime-admin.test.mjs \
        "$0"/realtime-sessions.test.mjs "$0"/realtime-sessions-api.test.mjs \
        "$0"/realtime-listings.test.mjs "$0"/realtime-channels.test.mjs \
        "$0"/trigger-sdk.test.mjs "$0"/control-plane-crash.test.mjs "$0"/multi-node.test.mjs' "$here"
