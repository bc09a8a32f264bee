#!/usr/bin/env bash
# bench/metrics-overhead.sh — what observability costs durable appends (issue 17; goal: within
# 3 %). In the same run, alternating, the same durable unary append load (wrk with
# bench/append-http.lua: one 200-byte JSON record per request, acknowledged once fsynced) against:
#   on   weir with everything on: the usage series (always on), GET /metrics scraped every
#        second by a background curl, and the request log written to a file on the same disk;
#   off  the same binary with --prometheus off --access-log off (the usage series stays: it is
#        part of the store);
#   base optional: BASELINE_BIN, a build from before the usage series (e.g. `git worktree add
#        /tmp/base <commit before it> && cmake -S /tmp/base -B /tmp/base/build -DCMAKE_BUILD_TYPE=Release
#        && cmake --build /tmp/base/build`), with its default flags: the cost of the series itself.
# Servers are pinned to CPU 0, wrk to CPU 1; data directories live on disk (not tmpfs). Prints
# each run, then the medians and the differences as markdown rows for docs/benchmarks.md.
#
# Usage: bench/metrics-overhead.sh [runs=5] [seconds=10] [connections=64]
# Env:   WEIR_BIN (default build/release/weir), BASELINE_BIN (optional), BENCH_DIR (default
#        $TMPDIR or /tmp)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
secs=${2:-10}
conns=${3:-64}
weir=${WEIR_BIN:-build/release/weir}
base=${BASELINE_BIN:-}
[ -x "$weir" ] || { echo "build first: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release -j2" >&2; exit 1; }
[ -z "$base" ] || [ -x "$base" ] || { echo "BASELINE_BIN=$base is not executable" >&2; exit 1; }
for t in wrk curl taskset; do
    command -v "$t" >/dev/null || { echo "missing $t; run: scripts/deps.sh bench" >&2; exit 1; }
done

tmp=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/weir-bench-metrics.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
if [ "$(stat -f -c %T "$tmp")" = tmpfs ]; then
    echo "warning: $tmp is on tmpfs, where fsync is free; set BENCH_DIR to a directory on disk" >&2
fi
load=$(cut -d' ' -f1 /proc/loadavg)
awk -v l="$load" 'BEGIN {exit !(l > 1.0)}' &&
    echo "warning: load average $load before the run; other work on these CPUs skews the numbers" >&2

export WEIR_ROOT_TOKEN="bench-$(od -An -tx8 -N8 /dev/urandom | tr -d ' ')"
basin=bench-metrics-01
stream=bench
configs=(on off)
[ -n "$base" ] && configs+=(base)
declare -A port=([on]=18190 [off]=18191 [base]=18192)

start() { # name binary flags...
    local name=$1 bin=$2
    shift 2
    mkdir -p "$tmp/$name"
    taskset -c 0 "$bin" serve --listen "127.0.0.1:${port[$name]}" --data-dir "$tmp/$name" "$@" \
        >"$tmp/$name.out" 2>"$tmp/$name.err" &
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:${port[$name]}/ping" >/dev/null && break; sleep 0.1; done
    curl -fsS -o /dev/null -X POST "http://127.0.0.1:${port[$name]}/v1/basins" \
        -H "authorization: Bearer $WEIR_ROOT_TOKEN" -H 'content-type: application/json' -d "{\"basin\":\"$basin\"}"
    curl -fsS -o /dev/null -X POST "http://127.0.0.1:${port[$name]}/v1/streams" \
        -H "authorization: Bearer $WEIR_ROOT_TOKEN" -H 'content-type: application/json' \
        -H "s2-basin: $basin" -d "{\"stream\":\"$stream\"}"
}
start on "$weir" --log-level warn --prometheus on --access-log "$tmp/on/access.log"
start off "$weir" --log-level warn --prometheus off --access-log off
[ -n "$base" ] && start base "$base" --log-level warn

# A Prometheus-like scraper for the "on" server, every second for the whole run.
(while sleep 1; do curl -fs -o /dev/null "http://127.0.0.1:${port[on]}/metrics" || true; done) &

# Prints "<acks/s> <p50 ms> <p99 ms>"; fails on any non-2xx answer or socket error.
run() {
    local out
    out=$(BASIN=$basin STREAM=$stream taskset -c 1 wrk -t1 -c"$conns" -d"${2}s" --timeout 10s \
        -s bench/append-http.lua "http://127.0.0.1:${port[$1]}")
    echo "$out" | awk -v n="$1" '/^RESULT/ {
        if ($5 != 0 || $6 != 0) { print n ": " $5 " non-2xx, " $6 " socket errors" > "/dev/stderr"; exit 1 }
        printf "%.0f %.3f %.3f\n", $2, $3 / 1000, $4 / 1000 }'
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for c in "${configs[@]}"; do run "$c" 2 >/dev/null; : >"$tmp/$c.txt"; done # warm-up
for i in $(seq "$runs"); do
    line="run $i:"
    # Alternate the order so that drift (disk, other load) hits every configuration alike.
    order=("${configs[@]}")
    [ $((i % 2)) -eq 0 ] && order=($(printf '%s\n' "${configs[@]}" | tac))
    for c in "${order[@]}"; do
        r=$(run "$c" "$secs")
        echo "$r" >>"$tmp/$c.txt"
        line="$line $c $(echo "$r" | awk '{printf "%s acks/s p50 %s ms p99 %s ms", $1, $2, $3}') |"
    done
    echo "$line"
done
col() { awk -v c="$2" '{print $c}' "$tmp/$1.txt" | median; }
declare -A acks
echo
for c in "${configs[@]}"; do
    acks[$c]=$(col "$c" 1)
    echo "| metrics overhead: $c, 1×200 B record/request, ${conns} conns, median of ${runs}×${secs}s | ${acks[$c]} acks/s, p50 $(col "$c" 2) ms, p99 $(col "$c" 3) ms |"
done
pct() { awk -v a="${acks[$1]}" -v b="${acks[$2]}" 'BEGIN {printf "%+.1f %%", (a - b) / b * 100}'; }
echo "| Prometheus + request log on vs off | $(pct on off) |"
[ -n "$base" ] && echo "| usage series (off) vs before it (base) | $(pct off base) |"
lines=$(wc -l <"$tmp/on/access.log")
echo "request log lines written by 'on': $lines; usage flushes: $(curl -fs "http://127.0.0.1:${port[on]}/metrics" | awk '/^weir_usage_flushes_total/ {print $2}')"
