#!/usr/bin/env bash
# bench/realtime.sh — the realtime control plane (issue 8): session create requests/s
# (POST /api/v1/sessions, distinct externalIds, environment secret key, 32 in flight) and the cost
# of a channel PUT (PUT /realtime/v1/sessions/<key>/out) with a cold vs a warm write-token cache,
# in the same run (see bench/realtime.mjs for what "cold" means). Each run starts a fresh server
# with an empty data directory on disk, pinned to CPU 0; the load generator runs on CPU 1.
# Prints each run, then the medians as a markdown row.
#
# Usage: bench/realtime.sh [runs=3] [sessions=2000] [mints=200]
# Env:   WEIR_BIN (default build/release/weir), BENCH_DIR (default $TMPDIR or /tmp)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
sessions=${2:-2000}
mints=${3:-200}
weir=${WEIR_BIN:-build/release/weir}
[ -x "$weir" ] || { echo "build first: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release -j2" >&2; exit 1; }
for t in node taskset curl; do
    command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }
done

tmp=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/weir-bench-realtime.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
if [ "$(stat -f -c %T "$tmp")" = tmpfs ]; then
    echo "warning: $tmp is on tmpfs, where fsync is free; set BENCH_DIR to a directory on disk" >&2
fi
port=18094
load=$(cut -d' ' -f1 /proc/loadavg)
awk -v l="$load" 'BEGIN {exit !(l > 1.0)}' &&
    echo "warning: load average $load before the run; other work on these CPUs skews the numbers" >&2

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: >"$tmp/results.txt"
for i in $(seq "$runs"); do
    rm -rf "$tmp/data"
    mkdir -p "$tmp/data"
    # Authenticated like any real client: a known root token for this run.
    export WEIR_ROOT_TOKEN="bench-$(od -An -tx8 -N8 /dev/urandom | tr -d ' ')"
    taskset -c 0 "$weir" serve --listen "127.0.0.1:$port" --data-dir "$tmp/data" --log-level warn \
        >"$tmp/weir.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/ping" >/dev/null && break; sleep 0.1; done
    out=$(taskset -c 1 node bench/realtime.mjs --url "http://127.0.0.1:$port" --token "$WEIR_ROOT_TOKEN" \
        --sessions "$sessions" --mints "$mints") || { echo "$out"; cat "$tmp/weir.log"; echo "run $i failed" >&2; exit 1; }
    echo "run $i:"
    echo "$out" | grep -v '^RESULT' | sed 's/^/  /'
    echo "$out" | awk '/^RESULT/ {$1 = ""; print}' >>"$tmp/results.txt"
    kill "$pid"
    wait "$pid" || true
    pid=
done
col() { awk -v c="$1" '{print $c}' "$tmp/results.txt" | median; }
echo
echo "| realtime control plane: ${sessions} session creates (32 in flight), ${mints} channel PUTs cold / warm (1 in flight), median of ${runs} |" \
    "session create $(col 1)/s | channel PUT, cold cache (mint) p50 $(col 2) µs, p99 $(col 3) µs |" \
    "warm cache p50 $(col 4) µs, p99 $(col 5) µs |"
