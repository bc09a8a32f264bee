#!/usr/bin/env bash
# bench/append-http.sh — durable unary appends: weir's POST /v1/streams/{s}/records (JSON, one
# 200-byte record per request, acknowledged only once fsynced) against Redis XADD with
# `appendonly yes` + `appendfsync always` (a 200-byte field value per entry, no pipelining), in
# the same run with the same client count on loopback. Servers are pinned to CPU 0, load
# generators (wrk with bench/append-http.lua, redis-benchmark) to CPU 1. Both data directories
# live under the same directory on the same disk (not tmpfs, where fsync costs nothing).
# Prints each run, then the medians (acks/s, p50, p99, and the server's CPU time per ack: user +
# system of all its threads over the run, from /proc) and the throughput ratio as a markdown row.
#
# Usage: bench/append-http.sh [runs=3] [seconds=5] [connections=64]
# Env:   WEIR_BIN (default build/release/weir), BENCH_DIR (default $TMPDIR or /tmp)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
secs=${2:-5}
conns=${3:-64}
weir=${WEIR_BIN:-build/release/weir}
[ -x "$weir" ] || { echo "build first: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release -j2" >&2; exit 1; }
for t in wrk redis-server redis-benchmark curl taskset; do
    command -v "$t" >/dev/null || { echo "missing $t; run: scripts/deps.sh bench" >&2; exit 1; }
done

tmp=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/weir-bench-append.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
if [ "$(stat -f -c %T "$tmp")" = tmpfs ]; then
    echo "warning: $tmp is on tmpfs, where fsync is free; set BENCH_DIR to a directory on disk" >&2
fi
load=$(cut -d' ' -f1 /proc/loadavg)
awk -v l="$load" 'BEGIN {exit !(l > 1.0)}' &&
    echo "warning: load average $load before the run; other work on these CPUs skews the numbers" >&2
mkdir -p "$tmp/weir" "$tmp/redis"
wport=18090
rport=18091
basin=bench-append-01
stream=bench

# Authenticated like any real client: a known root token for this run.
export WEIR_ROOT_TOKEN="bench-$(od -An -tx8 -N8 /dev/urandom | tr -d ' ')"
taskset -c 0 "$weir" serve --listen "127.0.0.1:$wport" --data-dir "$tmp/weir" --log-level warn >"$tmp/weir.log" 2>&1 &
wpid=$!
taskset -c 0 redis-server --bind 127.0.0.1 --port "$rport" --dir "$tmp/redis" --save "" \
    --appendonly yes --appendfsync always --daemonize no --logfile "$tmp/redis.log" &
rpid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$wport/ping" >/dev/null && break; sleep 0.1; done
for _ in $(seq 100); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS -o /dev/null -X POST "http://127.0.0.1:$wport/v1/basins" -H "authorization: Bearer $WEIR_ROOT_TOKEN" -H 'content-type: application/json' \
    -d "{\"basin\":\"$basin\"}"
curl -fsS -o /dev/null -X POST "http://127.0.0.1:$wport/v1/streams" -H "authorization: Bearer $WEIR_ROOT_TOKEN" -H 'content-type: application/json' \
    -H "s2-basin: $basin" -d "{\"stream\":\"$stream\"}"
redis-cli -p "$rport" config get appendfsync | tr '\n' ' ' | grep -q 'appendfsync always' ||
    { echo "redis is not running with appendfsync always" >&2; exit 1; }

payload=$(head -c 200 /dev/zero | tr '\0' x)

# CPU time (user + system, in clock ticks) the process has used so far, all its threads.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# weir: prints "<acks/s> <p50 ms> <p99 ms> <server CPU µs per ack>"; fails on any non-2xx answer
# or socket error.
run_weir() {
    local out t0
    t0=$(ticks "$wpid")
    out=$(BASIN=$basin STREAM=$stream taskset -c 1 wrk -t1 -c"$conns" -d"${1}s" --timeout 10s \
        -s bench/append-http.lua "http://127.0.0.1:$wport")
    echo "$out" | awk -v dt=$(($(ticks "$wpid") - t0)) -v hz="$hz" '
        / requests in / { n = $1 }
        /^RESULT/ { if ($5 != 0 || $6 != 0) { print "weir: " $5 " non-2xx, " $6 " socket errors" > "/dev/stderr"; bad = 1 }
                    a = $2; p50 = $3 / 1000; p99 = $4 / 1000 }
        END { if (bad) exit 1; printf "%.0f %.3f %.3f %.1f\n", a, p50, p99, dt * 1e6 / hz / n }'
}
# redis: XADD with a 200-byte value, -n requests; prints the same four fields.
run_redis() {
    local out t0
    t0=$(ticks "$rpid")
    out=$(taskset -c 1 redis-benchmark -h 127.0.0.1 -p "$rport" -c "$conns" -n "$1" -P 1 --csv \
        XADD bench '*' f "$payload")
    echo "$out" | awk -F'"' -v n="$1" -v dt=$(($(ticks "$rpid") - t0)) -v hz="$hz" \
        'NR == 2 { printf "%.0f %s %s %.1f\n", $4, $10, $14, dt * 1e6 / hz / n }'
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Warm up both, and size the Redis runs (count-based) to last about as long as the wrk runs.
run_weir 1 >/dev/null
calib=$(run_redis 2000 | awk '{print $1}')
n=$(awk -v r="$calib" -v s="$secs" 'BEGIN {n = int(r * s); if (n < 5000) n = 5000; print n}')

: >"$tmp/weir.txt"
: >"$tmp/redis.txt"
for i in $(seq "$runs"); do
    w=$(run_weir "$secs")
    r=$(run_redis "$n")
    read -r wa wp50 wp99 wcpu <<<"$w"
    read -r ra rp50 rp99 rcpu <<<"$r"
    echo "run $i: weir $wa acks/s p50 ${wp50} ms p99 ${wp99} ms, ${wcpu} µs CPU/ack | redis XADD $ra acks/s p50 ${rp50} ms p99 ${rp99} ms, ${rcpu} µs CPU/ack"
    echo "$w" >>"$tmp/weir.txt"
    echo "$r" >>"$tmp/redis.txt"
done
col() { awk -v c="$2" '{print $c}' "$1" | median; }
wa=$(col "$tmp/weir.txt" 1); wp50=$(col "$tmp/weir.txt" 2); wp99=$(col "$tmp/weir.txt" 3)
ra=$(col "$tmp/redis.txt" 1); rp50=$(col "$tmp/redis.txt" 2); rp99=$(col "$tmp/redis.txt" 3)
wcpu=$(col "$tmp/weir.txt" 4); rcpu=$(col "$tmp/redis.txt" 4)
ratio=$(awk -v a="$wa" -v b="$ra" 'BEGIN {printf "%.2f", a / b}')
tail=$(curl -fsS "http://127.0.0.1:$wport/v1/streams/$stream/records/tail" -H "s2-basin: $basin" -H "authorization: Bearer $WEIR_ROOT_TOKEN")
echo "weir stream tail after the runs: $tail"
echo
echo "| durable append, 1×200 B record/request, ${conns} conns, loopback, median of ${runs} | weir ${wa} acks/s, p50 ${wp50} ms, p99 ${wp99} ms, ${wcpu} µs CPU/ack | redis XADD appendfsync always ${ra} acks/s, p50 ${rp50} ms, p99 ${rp99} ms, ${rcpu} µs CPU/ack | ${ratio}x |"
