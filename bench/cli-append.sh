#!/usr/bin/env bash
# bench/cli-append.sh — `weir append` of a file of N lines against raw HTTP with the same
# batching, in the same run against the same server: the peer is one curl process POSTing the
# same N lines as JSON batches of 1000 records, one request after another on one kept-alive
# connection (the bodies are prepared before its clock starts; curl does no work per record).
# The CLI reads the file, cuts it into batches of 1000 records itself and sends unary protobuf
# appends, one at a time, each acknowledged once durable. Every run appends to a fresh stream
# and is checked afterwards (the stream's tail must be N).
#
# The server is pinned to CPU 0, the clients to CPU 1; the data directory should be on a real
# disk (not tmpfs, where fsync costs nothing). Run it on a quiet machine: it measures
# wall-clock throughput. Prints each run, then the medians as a markdown row for
# docs/benchmarks.md.
#
# Usage: bench/cli-append.sh [lines=1000000] [runs=3] [line_bytes=100]
# Env:   WEIR_BIN (default build/release/weir), BENCH_DIR (default $TMPDIR or /tmp)
set -euo pipefail
shopt -s inherit_errexit # a failing client inside $(...) stops the run
cd "$(dirname "$0")/.."
lines=${1:-1000000}
runs=${2:-3}
width=${3:-100}
weir=${WEIR_BIN:-build/release/weir}
[ -x "$weir" ] || { echo "build first: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release -j2" >&2; exit 1; }
for t in curl taskset awk; do
    command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }
done
[ "$width" -ge 11 ] || { echo "line_bytes must be at least 11" >&2; exit 2; }

tmp=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/weir-bench-cli.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
if [ "$(stat -f -c %T "$tmp")" = tmpfs ]; then
    echo "warning: $tmp is on tmpfs, where fsync is free; set BENCH_DIR to a directory on disk" >&2
fi
load=$(cut -d' ' -f1 /proc/loadavg)
awk -v l="$load" 'BEGIN {exit !(l > 1.0)}' &&
    echo "warning: load average $load before the run; other work on these CPUs skews the numbers" >&2

port=18093
basin=bench-cli-append
export WEIR_ROOT_TOKEN="bench-$(od -An -tx8 -N8 /dev/urandom | tr -d ' ')"
export S2_ACCOUNT_ENDPOINT="http://127.0.0.1:$port" S2_ACCESS_TOKEN="$WEIR_ROOT_TOKEN"
unset S2_BASIN_ENDPOINT WEIR_URL WEIR_CONFIG
export XDG_CONFIG_HOME="$tmp/config" # no user config file changes the CLI's behaviour
mkdir -p "$tmp/weir" "$tmp/batches"
taskset -c 0 "$weir" serve --listen "127.0.0.1:$port" --data-dir "$tmp/weir" --log-level warn >"$tmp/weir.log" 2>&1 &
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/ping" >/dev/null && break; sleep 0.1; done
"$weir" create-basin "s2://$basin" --create-stream-on-append >/dev/null

# The input: N lines of exactly `width` bytes plus a newline (digits, then x's: no JSON escaping).
awk -v n="$lines" -v w="$width" 'BEGIN {
    pad = sprintf("%" w "s", ""); gsub(/ /, "x", pad)
    for (i = 0; i < n; i++) print substr(sprintf("%010d", i) pad, 1, w) }' >"$tmp/lines.txt"

# The peer's bodies: one JSON AppendInput per 1000 lines, and a curl config that POSTs them in
# order on one connection (`next` starts the following transfer with fresh options).
awk -v dir="$tmp/batches" '{
    if ((NR - 1) % 1000 == 0) {
        if (f != "") { print "]}" > f; close(f) }
        f = sprintf("%s/b%07d.json", dir, int((NR - 1) / 1000)); printf "{\"records\":[" > f; sep = ""
    }
    printf "%s{\"body\":\"%s\"}", sep, $0 > f; sep = ","
} END { if (f != "") { print "]}" > f; close(f) } }' "$tmp/lines.txt"
curl_config() { # $1 = stream
    local sep=""
    for b in "$tmp"/batches/b*.json; do
        printf '%s' "$sep"
        sep=$'next\n'
        printf 'url = "http://127.0.0.1:%s/v1/streams/%s/records"\n' "$port" "$1"
        printf 'header = "authorization: Bearer %s"\nheader = "s2-basin: %s"\n' "$WEIR_ROOT_TOKEN" "$basin"
        printf 'header = "content-type: application/json"\ndata-binary = "@%s"\n' "$b"
        printf 'output = "/dev/null"\nfail\nsilent\nshow-error\n'
    done
}

now() { date +%s.%N; }
check() { # $1 = stream: its tail must be the number of lines
    local tail
    tail=$("$weir" check-tail "s2://$basin/$1" --json | sed -E 's/.*"seq_num":([0-9]+).*/\1/')
    [ "$tail" = "$lines" ] || { echo "stream $1 has $tail records, expected $lines" >&2; exit 1; }
}
run_cli() { # $1 = stream; prints seconds
    local t0 t1
    t0=$(now)
    taskset -c 1 "$weir" append "s2://$basin/$1" --file "$tmp/lines.txt" --quiet >/dev/null
    t1=$(now)
    check "$1"
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", b - a}'
}
run_curl() { # $1 = stream; prints seconds
    local t0 t1
    curl_config "$1" >"$tmp/curl.cfg"
    t0=$(now)
    taskset -c 1 curl -K "$tmp/curl.cfg"
    t1=$(now)
    check "$1"
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", b - a}'
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

bytes=$(stat -c %s "$tmp/lines.txt")
echo "input: $lines lines of $width bytes ($bytes bytes), batches of 1000 records" >&2
: >"$tmp/cli.txt"
: >"$tmp/curl.txt"
for i in $(seq "$runs"); do
    c=$(run_cli "cli-$i")
    r=$(run_curl "curl-$i")
    echo "run $i: weir append ${c}s, curl ${r}s" >&2
    echo "$c" >>"$tmp/cli.txt"
    echo "$r" >>"$tmp/curl.txt"
done
cm=$(median <"$tmp/cli.txt")
rm_=$(median <"$tmp/curl.txt")
awk -v n="$lines" -v b="$bytes" -v c="$cm" -v r="$rm_" -v w="$width" 'BEGIN {
    printf "| `weir append --file` vs curl, %d lines of %d B, 1000 records/append | %.0f lines/s (%.1f MB/s) | %.0f lines/s (%.1f MB/s) | %.2fx |\n",
        n, w, n / c, b / c / 1e6, n / r, b / r / 1e6, r / c }'
