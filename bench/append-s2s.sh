#!/usr/bin/env bash
# bench/append-s2s.sh — durable pipelined appends: weir's s2s append sessions over h2c
# (bench/append-s2s.mjs: 8 sessions, each on its own connection, inputs of 100 × 200-byte records,
# a window of in-flight inputs per session, every ack sent only once its batch is fsynced) against
# Redis XADD pipelined (`redis-benchmark -P 16`, 50 clients, a 200-byte field value per entry)
# with `appendonly yes` + `appendfsync always`, in the same run on loopback. One XADD is one
# record, so records/s compares directly. Servers are pinned to CPU 0, load generators to CPU 1.
# Both data directories live under the same directory on the same disk (not tmpfs, where fsync
# costs nothing). Prints each run, then the medians (records/s, ack p50/p99) and the throughput
# ratio as a markdown row. Latency: weir's is per input (send → AppendAck, including the wait
# behind the window), Redis's is redis-benchmark's per-request latency.
#
# Usage: bench/append-s2s.sh [runs=3] [seconds=5] [window=4]
# Env:   WEIR_BIN (default build/release/weir), BENCH_DIR (default $TMPDIR or /tmp)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
secs=${2:-5}
window=${3:-4}
sessions=8
records=100
size=200
rclients=50
rpipe=16
weir=${WEIR_BIN:-build/release/weir}
[ -x "$weir" ] || { echo "build first: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release -j2" >&2; exit 1; }
for t in node redis-server redis-benchmark redis-cli curl taskset; do
    command -v "$t" >/dev/null || { echo "missing $t; run: scripts/deps.sh bench" >&2; exit 1; }
done

tmp=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/weir-bench-s2s.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
if [ "$(stat -f -c %T "$tmp")" = tmpfs ]; then
    echo "warning: $tmp is on tmpfs, where fsync is free; set BENCH_DIR to a directory on disk" >&2
fi
load=$(cut -d' ' -f1 /proc/loadavg)
awk -v l="$load" 'BEGIN {exit !(l > 1.0)}' &&
    echo "warning: load average $load before the run; other work on these CPUs skews the numbers" >&2
mkdir -p "$tmp/weir" "$tmp/redis"
wport=18096
rport=18097
basin=bench-s2s-01
stream=bench
# Authenticated like any real client: a root token for this run.
token="bench-root-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
auth="authorization: Bearer $token"

WEIR_ROOT_TOKEN=$token taskset -c 0 "$weir" serve --listen "127.0.0.1:$wport" --data-dir "$tmp/weir" \
    --log-level warn >"$tmp/weir.log" 2>&1 &
taskset -c 0 redis-server --bind 127.0.0.1 --port "$rport" --dir "$tmp/redis" --save "" \
    --appendonly yes --appendfsync always --daemonize no --logfile "$tmp/redis.log" &
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$wport/ping" >/dev/null && break; sleep 0.1; done
for _ in $(seq 100); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS -o /dev/null -X POST "http://127.0.0.1:$wport/v1/basins" -H "$auth" \
    -H 'content-type: application/json' -d "{\"basin\":\"$basin\"}"
curl -fsS -o /dev/null -X POST "http://127.0.0.1:$wport/v1/streams" -H "$auth" \
    -H 'content-type: application/json' -H "s2-basin: $basin" -d "{\"stream\":\"$stream\"}"
redis-cli -p "$rport" config get appendfsync | tr '\n' ' ' | grep -q 'appendfsync always' ||
    { echo "redis is not running with appendfsync always" >&2; exit 1; }

payload=$(head -c "$size" /dev/zero | tr '\0' x)

# weir: prints "<records/s> <p50 ms> <p99 ms>"; the generator fails on any error.
run_weir() {
    local out
    out=$(WEIR_TOKEN=$token taskset -c 1 node bench/append-s2s.mjs --url "http://127.0.0.1:$wport" \
        --basin "$basin" --stream "$stream" --sessions "$sessions" --window "$window" \
        --records "$records" --size "$size" --secs "$1")
    echo "$out" | awk '/^RESULT/ { printf "%s %s %s\n", $2, $3, $4 }'
}
# redis: XADD with a 200-byte value, -n requests; prints "<records/s> <p50 ms> <p99 ms>".
run_redis() {
    taskset -c 1 redis-benchmark -h 127.0.0.1 -p "$rport" -c "$rclients" -n "$1" -P "$rpipe" --csv \
        XADD bench '*' f "$payload" | awk -F'"' 'NR == 2 { printf "%.0f %s %s\n", $4, $10, $14 }'
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Warm up both, and size the Redis runs (count-based) to last about as long as the weir runs.
run_weir 1 >/dev/null
calib=$(run_redis 20000 | awk '{print $1}')
n=$(awk -v r="$calib" -v s="$secs" 'BEGIN {n = int(r * s); if (n < 20000) n = 20000; print n}')

: >"$tmp/weir.txt"
: >"$tmp/redis.txt"
for i in $(seq "$runs"); do
    w=$(run_weir "$secs")
    r=$(run_redis "$n")
    if [ -z "$w" ] || [ -z "$r" ]; then echo "run $i produced no result" >&2; exit 1; fi
    read -r wa wp50 wp99 <<<"$w"
    read -r ra rp50 rp99 <<<"$r"
    echo "run $i: weir $wa records/s ack p50 ${wp50} ms p99 ${wp99} ms | redis XADD $ra records/s p50 ${rp50} ms p99 ${rp99} ms"
    echo "$w" >>"$tmp/weir.txt"
    echo "$r" >>"$tmp/redis.txt"
done
col() { awk -v c="$2" '{print $c}' "$1" | median; }
wa=$(col "$tmp/weir.txt" 1); wp50=$(col "$tmp/weir.txt" 2); wp99=$(col "$tmp/weir.txt" 3)
ra=$(col "$tmp/redis.txt" 1); rp50=$(col "$tmp/redis.txt" 2); rp99=$(col "$tmp/redis.txt" 3)
ratio=$(awk -v a="$wa" -v b="$ra" 'BEGIN {printf "%.2f", a / b}')
tail=$(curl -fsS "http://127.0.0.1:$wport/v1/streams/$stream/records/tail" -H "$auth" -H "s2-basin: $basin")
echo "weir stream tail after the runs: $tail"
echo
echo "| durable pipelined append, ${sessions} s2s sessions × window ${window} × ${records}×${size} B records/input vs XADD -P ${rpipe} × ${rclients} clients, loopback, median of ${runs} | weir ${wa} records/s, ack p50 ${wp50} ms, p99 ${wp99} ms | redis XADD appendfsync always ${ra} records/s, p50 ${rp50} ms, p99 ${rp99} ms | ${ratio}x |"
