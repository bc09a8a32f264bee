#!/usr/bin/env bash
# bench/sse-fanout.sh — SSE fan-out: 1,000 subscribers following one stream while a writer appends
# 100 records/s (one record per durable append) for 10 s, on loopback. Reports delivery latency
# (append ack → event received, p50/p99; plus send → event and send → ack) and server RSS per
# idle subscriber, from bench/sse-fanout.mjs. weir is pinned to CPU 0, the load generator (its
# subscriber process and its writer process) to CPU 1. Each run starts a fresh server with an
# empty data directory on disk; several runs report medians. Bounded in count and time.
#
# Usage: bench/sse-fanout.sh [runs=1] [subscribers=1000] [records/s=100] [seconds=10]
# Env:   WEIR_BIN (default build/release/weir), BENCH_DIR (default $TMPDIR or /tmp)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1}
subs=${2:-1000}
rate=${3:-100}
secs=${4:-10}
weir=${WEIR_BIN:-build/release/weir}
[ -x "$weir" ] || { echo "build first: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release -j2" >&2; exit 1; }
command -v node >/dev/null && command -v taskset >/dev/null && command -v curl >/dev/null ||
    { echo "needs node, taskset and curl" >&2; exit 1; }
[ "$(ulimit -n)" -ge $((subs + 256)) ] 2>/dev/null || ulimit -n $((subs + 1024)) 2>/dev/null ||
    { echo "raise the open-files limit above $((subs + 256))" >&2; exit 1; }

tmp=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/weir-bench-fanout.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
port=18093
load=$(cut -d' ' -f1 /proc/loadavg)
awk -v l="$load" 'BEGIN {exit !(l > 1.0)}' &&
    echo "warning: load average $load before the run; other work on these CPUs skews the numbers" >&2

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: >"$tmp/results.txt"
for i in $(seq "$runs"); do
    rm -rf "$tmp/data"
    mkdir -p "$tmp/data"
    export WEIR_ROOT_TOKEN="bench-$(od -An -tx8 -N8 /dev/urandom | tr -d ' ')"
    taskset -c 0 "$weir" serve --listen "127.0.0.1:$port" --data-dir "$tmp/data" --log-level warn \
        --max-connections $((subs + 100)) >"$tmp/weir.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/ping" >/dev/null && break; sleep 0.1; done
    out=$(taskset -c 1 node bench/sse-fanout.mjs --url "http://127.0.0.1:$port" --pid "$pid" \
        --subs "$subs" --rate "$rate" --secs "$secs") || { echo "$out"; echo "run $i failed" >&2; exit 1; }
    echo "run $i:"
    echo "$out" | grep -v '^RESULT' | sed 's/^/  /'
    echo "$out" | awk '/^RESULT/ {$1 = ""; print}' >>"$tmp/results.txt"
    kill "$pid"
    wait "$pid" || true
    pid=
done
col() { awk -v c="$1" '{print $c}' "$tmp/results.txt" | median; }
echo
echo "| SSE fan-out: ${subs} subscribers, 1 stream, ${rate} appends/s × ${secs} s, median of ${runs} |" \
    "ack→event p50 $(col 1) ms, p99 $(col 2) ms | send→event p50 $(col 3) ms, p99 $(col 4) ms |" \
    "append send→ack p50 $(col 5) ms, p99 $(col 6) ms | $(col 7) KB RSS per idle subscriber |" \
    "$(col 8)/${subs} subscribers complete |"
