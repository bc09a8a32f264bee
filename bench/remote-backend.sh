#!/usr/bin/env bash
# bench/remote-backend.sh — the realtime layer over the remote stream backend (issue 14) against
# the embedded one, in the same run:
#  1. append → browser event latency (bench/remote-backend.mjs): agents append straight to the
#     X-S2-Endpoint of their channel PUT (the node itself when embedded; the upstream S2 endpoint
#     when remote), browser-side SSE subscribers follow .out at the node;
#  2. channel PUT requests/s with a warm token cache (wrk, 64 connections, PUT
#     /realtime/v1/sessions/<key>/out cycling over the sessions, environment secret key).
# Servers: the embedded node; and, for remote, an upstream weir (the S2 endpoint) plus a realtime
# node with WEIR_STREAM_BACKEND=remote holding a scoped account token. Every server is pinned to
# CPU 0 (the remote pair shares it: the same core budget as the embedded node), the load
# generators to CPU 1. Runs alternate which setup goes first. Prints each run, then the medians
# and the remote/embedded ratios as markdown rows.
#
# Usage: bench/remote-backend.sh [runs=3] [sessions=50] [seconds=10] [put_seconds=5] [conns=64]
# Env:   WEIR_BIN (default build/release/weir), BENCH_DIR (default $TMPDIR or /tmp)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
sessions=${2:-50}
secs=${3:-10}
psecs=${4:-5}
conns=${5:-64}
weir=${WEIR_BIN:-build/release/weir}
[ -x "$weir" ] || { echo "build first: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release -j2" >&2; exit 1; }
for t in node taskset curl wrk; do
    command -v "$t" >/dev/null || { echo "missing $t (make bench installs it)" >&2; exit 1; }
done

tmp=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/weir-bench-remote.XXXXXX")
pids=()
stop_all() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    pids=()
}
trap 'stop_all; rm -rf "$tmp"' EXIT
if [ "$(stat -f -c %T "$tmp")" = tmpfs ]; then
    echo "warning: $tmp is on tmpfs, where fsync is free; set BENCH_DIR to a directory on disk" >&2
fi
eport=18110 uport=18111 nport=18112
load=$(cut -d' ' -f1 /proc/loadavg)
echo "load average before the run: $load"
awk -v l="$load" 'BEGIN {exit !(l > 1.0)}' &&
    echo "warning: load average $load before the run; other work on these CPUs skews the numbers" >&2

cat >"$tmp/put.lua" <<'LUA'
-- PUT /realtime/v1/sessions/s-<i>/out, i cycling over SESSIONS, secret key KEY.
local n = tonumber(os.getenv("SESSIONS"))
local reqs = {}
local i = 0
function init(args)
    for s = 0, n - 1 do
        reqs[s + 1] = wrk.format("PUT", "/realtime/v1/sessions/s-" .. s .. "/out",
            { ["Authorization"] = "Bearer " .. os.getenv("KEY") }, "")
    end
end
function request()
    i = i % n + 1
    return reqs[i]
end
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("RESULT %.1f %d %d %d %d\n", summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
LUA

wait_up() {
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$1/ping" >/dev/null && return 0; sleep 0.1; done
    echo "server on port $1 did not start" >&2
    return 1
}

# start_embedded → the node on $eport
start_embedded() {
    rm -rf "$tmp/e" && mkdir -p "$tmp/e"
    taskset -c 0 "$weir" serve --listen "127.0.0.1:$eport" --data-dir "$tmp/e" --log-level warn \
        >"$tmp/e.log" 2>&1 &
    pids+=($!)
    wait_up "$eport"
}

# start_remote → an upstream on $uport and a remote-backend node on $nport
start_remote() {
    rm -rf "$tmp/u" "$tmp/n" && mkdir -p "$tmp/u" "$tmp/n"
    taskset -c 0 "$weir" serve --listen "127.0.0.1:$uport" --data-dir "$tmp/u" --log-level warn \
        >"$tmp/u.log" 2>&1 &
    pids+=($!)
    wait_up "$uport"
    local ops='["list-basins","create-basin","get-basin-config","reconfigure-basin","list-streams","create-stream","get-stream-config","reconfigure-stream","check-tail","append","read","trim","issue-access-token","revoke-access-token","list-access-tokens"]'
    local token
    token=$(curl -fsS -X POST "http://127.0.0.1:$uport/v1/access-tokens" \
        -H "authorization: Bearer $WEIR_ROOT_TOKEN" -H 'content-type: application/json' \
        -d "{\"id\":\"realtime-node\",\"scope\":{\"basins\":{\"prefix\":\"\"},\"streams\":{\"prefix\":\"\"},\"access_tokens\":{\"prefix\":\"rt-\"},\"ops\":$ops}}" |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).access_token))')
    WEIR_STREAM_BACKEND=remote WEIR_S2_ENDPOINT="http://127.0.0.1:$uport" WEIR_S2_ACCESS_TOKEN="$token" \
        taskset -c 0 "$weir" serve --listen "127.0.0.1:$nport" --data-dir "$tmp/n" --log-level warn \
        >"$tmp/n.log" 2>&1 &
    pids+=($!)
    wait_up "$nport"
}

# measure <label> <node port> → appends "<label> <p50> <p99> <events> <put/s> <put p99 ms>"
measure() {
    local out key put
    out=$(taskset -c 1 node bench/remote-backend.mjs --url "http://127.0.0.1:$2" --token "$WEIR_ROOT_TOKEN" \
        --sessions "$sessions" --seconds "$secs") || { echo "$out"; cat "$tmp"/*.log; exit 1; }
    key=$(echo "$out" | awk '/^KEY/ {print $2}')
    read -r p50 p99 n < <(echo "$out" | awk '/^RESULT/ {print $2, $3, $4}')
    put=$(KEY="$key" SESSIONS="$sessions" taskset -c 1 wrk -t1 -c"$conns" -d"${psecs}s" --timeout 10s \
        -s "$tmp/put.lua" "http://127.0.0.1:$2")
    read -r rps _ pp99 bad errs < <(echo "$put" | awk '/^RESULT/ {print $2, $3, $4, $5, $6}')
    [ "$bad" = 0 ] && [ "$errs" = 0 ] || { echo "wrk: $bad non-2xx, $errs socket errors" >&2; exit 1; }
    printf '  %-8s event p50 %s ms, p99 %s ms (%s events); PUT %s req/s, p99 %s ms\n' "$1" "$p50" "$p99" "$n" "$rps" \
        "$(awk -v u="$pp99" 'BEGIN {printf "%.2f", u / 1000}')"
    echo "$1 $p50 $p99 $n $rps $(awk -v u="$pp99" 'BEGIN {printf "%.2f", u / 1000}')" >>"$tmp/results.txt"
}

: >"$tmp/results.txt"
for i in $(seq "$runs"); do
    export WEIR_ROOT_TOKEN="bench-$(od -An -tx8 -N8 /dev/urandom | tr -d ' ')"
    echo "run $i:"
    order=(embedded remote)
    [ $((i % 2)) = 0 ] && order=(remote embedded)
    for which in "${order[@]}"; do
        if [ "$which" = embedded ]; then
            start_embedded
            measure embedded "$eport"
        else
            start_remote
            measure remote "$nport"
        fi
        stop_all
    done
done

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
col() { awk -v w="$1" -v c="$2" '$1 == w {print $c}' "$tmp/results.txt" | median; }
ep50=$(col embedded 2) ep99=$(col embedded 3) eput=$(col embedded 5) epp99=$(col embedded 6)
rp50=$(col remote 2) rp99=$(col remote 3) rput=$(col remote 5) rpp99=$(col remote 6)
echo
echo "medians of $runs runs ($sessions sessions, ${secs} s of events; PUT: $conns connections, ${psecs} s):"
echo "| setup | append → event p50 | p99 | channel PUT req/s | PUT p99 |"
echo "|---|---|---|---|---|"
echo "| embedded node | $ep50 ms | $ep99 ms | $eput | $epp99 ms |"
echo "| remote-backend node + upstream weir | $rp50 ms | $rp99 ms | $rput | $rpp99 ms |"
awk -v a="$rp99" -v b="$ep99" -v c="$rput" -v d="$eput" \
    'BEGIN {printf "| remote / embedded | | %.2f× | %.2f× | |\n", a / b, c / d}'
