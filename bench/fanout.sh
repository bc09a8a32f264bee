#!/usr/bin/env bash
# bench/fanout.sh — SSE fan-out against a peer in the same run: N subscribers follow one stream
# while one writer appends R records/s for S seconds (one record per durable append), on
# loopback, with the C load generator bench/fanout.c (one epoll process for every subscriber,
# a separate writer process; cheap enough not to be what is measured: its CPU is printed).
#   weir   SSE read sessions on /v1/streams/{s}/records, unary JSON appends (fsync per group)
#   redis  the same number of XREAD BLOCK 0 subscribers, XADD with appendfsync always
# Each server is pinned to CPU 0 and started fresh (data on disk) for every run; the generator
# runs on CPU 1. Runs alternate which server goes first. Reports, as markdown rows:
#   1. N subscribers: ack → event and send → event p50/p99 (medians of `runs`), weir/redis ratio;
#   2. RSS per idle subscriber with `idle` subscribers following at the tail;
#   3. a sweep of subscriber counts (one run each): send → event p99, and the largest count
#      that keeps it ≤ 50 ms for each server.
# "ack → event" is from the writer receiving the append's ack to a subscriber receiving the
# record (negative: the event arrived first); "send → event" from sending the append.
#
# Usage: bench/fanout.sh [runs=3] [subscribers=1000] [records/s=100] [seconds=10]
#                        [sweep="1000 2000 5000 10000"] [idle=10000]
# Env:   WEIR_BIN (default build/release/weir), FANOUT_BIN (default build/release/fanout),
#        BENCH_DIR (default $TMPDIR or /tmp)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
subs=${2:-1000}
rate=${3:-100}
secs=${4:-10}
sweep=${5:-1000 2000 5000 10000}
idle=${6:-10000}
weir=${WEIR_BIN:-build/release/weir}
gen=${FANOUT_BIN:-build/release/fanout}
for b in "$weir" "$gen"; do
    [ -x "$b" ] || { echo "build first: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release -j2" >&2; exit 1; }
done
for t in redis-server redis-cli taskset curl; do
    command -v "$t" >/dev/null || { echo "missing $t; run: scripts/deps.sh bench" >&2; exit 1; }
done
most=$subs
for n in $sweep $idle; do [ "$n" -gt "$most" ] && most=$n; done
[ "$(ulimit -n)" -ge $((most + 256)) ] 2>/dev/null || ulimit -n $((most + 1024)) 2>/dev/null ||
    { echo "raise the open-files limit above $((most + 256))" >&2; exit 1; }

tmp=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/weir-bench-fanout.XXXXXX")
pid=
stop() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    pid=
    return 0
}
trap 'stop; rm -rf "$tmp"' EXIT
if [ "$(stat -f -c %T "$tmp")" = tmpfs ]; then
    echo "warning: $tmp is on tmpfs, where fsync is free; set BENCH_DIR to a directory on disk" >&2
fi
load=$(cut -d' ' -f1 /proc/loadavg)
echo "load average before the run: $load"
awk -v l="$load" 'BEGIN {exit !(l > 1.0)}' &&
    echo "warning: load average $load before the run; other work on these CPUs skews the numbers" >&2

port=18121
token="bench-$(od -An -tx8 -N8 /dev/urandom | tr -d ' ')"
auth=(-H "Authorization: Bearer $token")

# Starts a fresh server of kind $1 for $2 subscribers; sets pid and gen_args.
start() {
    rm -rf "$tmp/data"
    mkdir -p "$tmp/data"
    if [ "$1" = weir ]; then
        WEIR_ROOT_TOKEN=$token taskset -c 0 "$weir" serve --listen "127.0.0.1:$port" \
            --data-dir "$tmp/data" --log-level warn --max-connections $(($2 + 100)) \
            >"$tmp/server.log" 2>&1 &
        pid=$!
        for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/ping" >/dev/null && break; sleep 0.1; done
        curl -fs "${auth[@]}" -H 'content-type: application/json' -d '{"basin":"bench-fanout-01"}' \
            "http://127.0.0.1:$port/v1/basins" >/dev/null
        curl -fs "${auth[@]}" -H 's2-basin: bench-fanout-01' -H 'content-type: application/json' \
            -d '{"stream":"fan"}' "http://127.0.0.1:$port/v1/streams" >/dev/null
        gen_args=(--mode weir --port "$port" --token "$token" --basin bench-fanout-01 --stream fan --base 0)
    else
        taskset -c 0 redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly yes \
            --appendfsync always --dir "$tmp/data" --maxclients $(($2 + 100)) \
            >"$tmp/server.log" 2>&1 &
        pid=$!
        for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
        gen_args=(--mode redis --port "$port" --key fan)
    fi
}

# run KIND SUBS SECS [--idle]: one fresh server, one generator run; prints the RESULT fields.
run() {
    start "$1" "$2"
    local out
    out=$(taskset -c 1 "$gen" "${gen_args[@]}" --pid "$pid" --subs "$2" --rate "$rate" --secs "$3" ${4:-}) ||
        { echo "$out" >&2; cat "$tmp/server.log" >&2; stop; echo "$1 run failed" >&2; exit 1; }
    stop
    echo "$out" | grep -v '^RESULT' | sed "s/^/  /" >&2
    echo "$out" | awk '/^RESULT/ {$1 = ""; print}'
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
col() { awk -v c="$2" '{print $c}' "$tmp/$1" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f×", a / b; else print "-"}'; }

echo "1. $subs subscribers, $rate appends/s × $secs s, $runs runs"
: >"$tmp/weir.txt"
: >"$tmp/redis.txt"
for i in $(seq "$runs"); do
    order="weir redis"
    [ $((i % 2)) -eq 0 ] && order="redis weir"
    echo "run $i:" >&2
    for k in $order; do run "$k" "$subs" "$secs" >>"$tmp/$k.txt"; done
done
echo "2. RSS per idle subscriber, $idle subscribers"
weir_idle=$(run weir "$idle" 1 --idle | awk '{print $7}')
redis_idle=$(run redis "$idle" 1 --idle | awk '{print $7}')
echo "3. sweep: ${sweep} subscribers, one run each"
sweep_rows=()
best_weir=none
best_redis=none
for n in $sweep; do
    w=$(run weir "$n" "$secs")
    r=$(run redis "$n" "$secs")
    wp=$(echo "$w" | awk '{print $4}')
    rp=$(echo "$r" | awk '{print $4}')
    sweep_rows+=("| $n | $wp ms | $(echo "$w" | awk '{print $8 "/" '"$n"'}') | $(echo "$w" | awk '{print $10}') % | $rp ms | $(echo "$r" | awk '{print $8 "/" '"$n"'}') | $(echo "$r" | awk '{print $10}') % |")
    awk -v p="$wp" 'BEGIN {exit !(p <= 50)}' && best_weir=$n
    awk -v p="$rp" 'BEGIN {exit !(p <= 50)}' && best_redis=$n
done

echo
echo "| ${subs} subscribers, ${rate} appends/s × ${secs} s, median of ${runs} | ack→event p50 | p99 | send→event p50 | p99 | append send→ack p50 | p99 | complete | generator CPU |"
echo "|---|---|---|---|---|---|---|---|---|"
for k in weir redis; do
    echo "| $k | $(col $k.txt 1) ms | $(col $k.txt 2) ms | $(col $k.txt 3) ms | $(col $k.txt 4) ms | $(col $k.txt 5) ms | $(col $k.txt 6) ms | $(col $k.txt 8)/${subs} | $(col $k.txt 10) % |"
done
echo "| weir / redis (send→event p99) | | | | $(ratio "$(col weir.txt 4)" "$(col redis.txt 4)") | | | | |"
echo
echo "| idle subscribers | weir RSS per subscriber | redis RSS per subscriber |"
echo "|---|---|---|"
echo "| $idle | ${weir_idle} KB | ${redis_idle} KB |"
echo
echo "| subscribers (${rate}/s × ${secs} s) | weir send→event p99 | complete | generator CPU | redis send→event p99 | complete | generator CPU |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${sweep_rows[@]}"
echo "largest count with send→event p99 ≤ 50 ms: weir ${best_weir}, redis ${best_redis}"
echo "load average after the run: $(cut -d' ' -f1 /proc/loadavg)"
