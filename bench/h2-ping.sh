#!/usr/bin/env bash
# bench/h2-ping.sh — requests/s of weir's GET /ping over HTTP/2 (h2c prior knowledge, h2load)
# against HTTP/1.1 (wrk, keep-alive) on the same server in the same run, with the same connection
# count and one request in flight per connection (h2load -m 1, like wrk) unless `streams` raises
# h2load's concurrent streams per connection. The server is pinned to CPU 0, the load generator
# to CPU 1. Prints each run, then the medians and the h2/h1 ratio as a markdown row.
#
# Usage: bench/h2-ping.sh [runs=3] [seconds=5] [connections=64] [streams=1]
# Env:   WEIR_BIN (default build/release/weir)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
secs=${2:-5}
conns=${3:-64}
streams=${4:-1}
weir=${WEIR_BIN:-build/release/weir}
[ -x "$weir" ] || { echo "build first: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release -j2" >&2; exit 1; }
for t in wrk curl taskset; do
    command -v "$t" >/dev/null || { echo "missing $t; run: scripts/deps.sh bench" >&2; exit 1; }
done
command -v h2load >/dev/null || { echo "missing h2load; install the Debian package nghttp2-client (apt-get install nghttp2-client)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
load=$(cut -d' ' -f1 /proc/loadavg)
awk -v l="$load" 'BEGIN {exit !(l > 1.0)}' &&
    echo "warning: load average $load before the run; other work on these CPUs skews the numbers" >&2
port=18098
url="http://127.0.0.1:$port/ping"
taskset -c 0 "$weir" serve --listen "127.0.0.1:$port" --data-dir "$tmp" --log-level warn >"$tmp/weir.log" 2>&1 &
for _ in $(seq 100); do curl -fs "$url" >/dev/null && break; sleep 0.1; done
curl -fs "$url" >/dev/null || { echo "weir did not start:"; cat "$tmp/weir.log"; exit 1; } >&2

# h2load: prints req/s; fails on any non-2xx answer (counted as failed), error or timeout.
h2() {
    local out
    out=$(taskset -c 1 h2load -t1 -c"$conns" -m"$streams" -D"$1" "$url")
    echo "$out" | awk '
        /^requests:/ { ok = $8; failed = $10; errored = $12; timeout = $14 }
        /^finished in/ { rps = $4 }
        END {
            if (failed != 0 || errored != 0 || timeout != 0 || ok == 0) {
                print "h2load: " ok " succeeded, " failed " failed, " errored " errored, " timeout " timed out" > "/dev/stderr"; exit 1 }
            printf "%.0f\n", rps }'
}
# wrk: prints req/s; fails on any non-2xx answer or socket error.
h1() {
    local out
    out=$(taskset -c 1 wrk -t1 -c"$conns" -d"${1}s" "$url")
    if echo "$out" | grep -qE 'Non-2xx|Socket errors'; then echo "$out" >&2; return 1; fi
    echo "$out" | awk '/Requests\/sec/ {printf "%.0f\n", $2}'
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

h2 1 >/dev/null
h1 1 >/dev/null
: >"$tmp/h2.txt"
: >"$tmp/h1.txt"
for i in $(seq "$runs"); do
    a=$(h2 "$secs")
    b=$(h1 "$secs")
    echo "run $i: h2c $a req/s, HTTP/1.1 $b req/s"
    echo "$a" >>"$tmp/h2.txt"
    echo "$b" >>"$tmp/h1.txt"
done
m2=$(median <"$tmp/h2.txt")
m1=$(median <"$tmp/h1.txt")
ratio=$(awk -v a="$m2" -v b="$m1" 'BEGIN {printf "%.2f", a / b}')
echo
echo "| GET /ping, ${conns} conns, ${secs}s × ${runs}, median | weir h2c (h2load -m ${streams}) ${m2} req/s | weir HTTP/1.1 (wrk) ${m1} req/s | ${ratio}x |"
