#!/usr/bin/env bash
# bench/auth-cost.sh — the per-request cost of access-token verification: requests/s of
# `GET /v1/streams/{s}/records/tail` (check tail) sent with an issued, scoped token (basin exact,
# stream exact, ops [check-tail]) to a server in the default `--auth tokens` mode, against the
# same requests to a second server started with `--auth none`, in the same run. Both servers
# are pinned to CPU 0 and loaded one at a time (runs alternate); wrk (one thread, keep-alive)
# is pinned to CPU 1. Both get the identical request bytes, Authorization header included, so
# the only difference is verification (hash, lookup, scope check). Prints each run, then the
# medians and the ratio (tokens / none) as a markdown row. Issue 7's goal: at most 3% slower.
# Each run also reports the server's CPU time per request (utime + stime from /proc over the
# run, divided by the requests wrk completed), which other load on the machine disturbs much
# less than requests/s does.
#
# Usage: bench/auth-cost.sh [runs=3] [seconds=5] [connections=64]
# Env:   WEIR_BIN (default build/release/weir)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
secs=${2:-5}
conns=${3:-64}
weir=${WEIR_BIN:-build/release/weir}
[ -x "$weir" ] || { echo "build first: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release -j2" >&2; exit 1; }
for t in wrk curl taskset; do
    command -v "$t" >/dev/null || { echo "missing $t; run: scripts/deps.sh bench" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/weir-bench-auth.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
load=$(cut -d' ' -f1 /proc/loadavg)
awk -v l="$load" 'BEGIN {exit !(l > 1.0)}' &&
    echo "warning: load average $load before the run; other work on these CPUs skews the numbers" >&2
mkdir -p "$tmp/tokens" "$tmp/none"
tport=18094 # --auth tokens
nport=18095 # --auth none
basin=bench-auth-01
stream=tail

root="bench-root-$(od -An -tx8 -N8 /dev/urandom | tr -d ' ')"
WEIR_ROOT_TOKEN=$root taskset -c 0 "$weir" serve --listen "127.0.0.1:$tport" --data-dir "$tmp/tokens" \
    --log-level warn >"$tmp/tokens.log" 2>&1 &
declare -A pid
pid[$tport]=$! # taskset execs weir: this is the server's pid
WEIR_ROOT_TOKEN=$root taskset -c 0 "$weir" serve --listen "127.0.0.1:$nport" --data-dir "$tmp/none" \
    --auth none --log-level warn >"$tmp/none.log" 2>&1 &
pid[$nport]=$!
for port in $tport $nport; do
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/ping" >/dev/null && break; sleep 0.1; done
done

api() { # api PORT METHOD PATH [BODY] — as root, fails on a non-2xx answer
    local port=$1 method=$2 path=$3
    shift 3
    curl -fsS -X "$method" "http://127.0.0.1:$port$path" -H "authorization: Bearer $root" \
        -H "s2-basin: $basin" -H 'content-type: application/json' "$@"
}
for port in $tport $nport; do
    api "$port" POST /v1/basins -d "{\"basin\":\"$basin\"}" -o /dev/null
    api "$port" POST /v1/streams -d "{\"stream\":\"$stream\"}" -o /dev/null
    api "$port" POST "/v1/streams/$stream/records" -d '{"records":[{"body":"a"},{"body":"b"},{"body":"c"}]}' -o /dev/null
done
# A scoped token as a real client would hold one; also a few hundred other tokens so the lookup
# is not into an empty table.
for i in $(seq 200); do
    api "$tport" POST /v1/access-tokens -o /dev/null \
        -d "{\"id\":\"filler-$i\",\"scope\":{\"basins\":{\"exact\":\"b-$i-basin\"},\"ops\":[\"read\"]}}"
done
token=$(api "$tport" POST /v1/access-tokens \
    -d "{\"id\":\"bench-tail\",\"scope\":{\"basins\":{\"exact\":\"$basin\"},\"streams\":{\"exact\":\"$stream\"},\"ops\":[\"check-tail\"]}}" |
    sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || { echo "could not issue the scoped token" >&2; exit 1; }
# Sanity: the scoped token works on the tokens server and is required there.
for port in $tport $nport; do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/v1/streams/$stream/records/tail" \
        -H "authorization: Bearer $token" -H "s2-basin: $basin"
done
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$tport/v1/streams/$stream/records/tail" -H "s2-basin: $basin")
[ "$code" = 401 ] || { echo "the tokens server answered $code without a token (expected 401)" >&2; exit 1; }

cat >"$tmp/tail.lua" <<'LUA'
-- GET check-tail with the bearer token in TOKEN and the basin in BASIN; prints
--   RESULT <requests/s> <p50 µs> <p99 µs> <non-2xx responses> <socket errors> <requests>
wrk.method = "GET"
wrk.path = "/v1/streams/" .. os.getenv("STREAM") .. "/records/tail"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.headers["s2-basin"] = os.getenv("BASIN")

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("RESULT %.1f %d %d %d %d %d\n", summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(99), e.status,
        e.connect + e.read + e.write + e.timeout, summary.requests))
end
LUA

# The server's CPU time so far, in clock ticks (utime + stime; the comm field has no spaces).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# Prints "<requests/s> <p50 ms> <p99 ms> <server CPU µs/request>"; fails on any non-2xx answer or
# socket error.
run() {
    local out c0 c1
    c0=$(cpu_ticks "${pid[$1]}")
    out=$(TOKEN=$token BASIN=$basin STREAM=$stream taskset -c 1 wrk -t1 -c"$conns" -d"${2}s" --timeout 10s \
        -s "$tmp/tail.lua" "http://127.0.0.1:$1")
    c1=$(cpu_ticks "${pid[$1]}")
    echo "$out" | awk -v ticks=$((c1 - c0)) -v hz="$hz" '/^RESULT/ {
        if ($5 != 0 || $6 != 0) { print "wrk: " $5 " non-2xx, " $6 " socket errors" > "/dev/stderr"; exit 1 }
        printf "%.0f %.3f %.3f %.2f\n", $2, $3 / 1000, $4 / 1000, ticks / hz * 1e6 / $7 }'
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run "$tport" 1 >/dev/null # warm-up
run "$nport" 1 >/dev/null
: >"$tmp/tokens.txt"
: >"$tmp/none.txt"
for i in $(seq "$runs"); do
    # Alternate which server goes first, so a drift in background load favours neither.
    if [ $((i % 2)) = 1 ]; then
        t=$(run "$tport" "$secs"); n=$(run "$nport" "$secs")
    else
        n=$(run "$nport" "$secs"); t=$(run "$tport" "$secs")
    fi
    read -r ta tp50 tp99 tcpu <<<"$t"
    read -r na np50 np99 ncpu <<<"$n"
    echo "run $i: tokens $ta req/s p50 ${tp50} ms p99 ${tp99} ms ${tcpu} µs CPU/req | none $na req/s p50 ${np50} ms p99 ${np99} ms ${ncpu} µs CPU/req"
    echo "$t" >>"$tmp/tokens.txt"
    echo "$n" >>"$tmp/none.txt"
done
col() { awk -v c="$2" '{print $c}' "$1" | median; }
ta=$(col "$tmp/tokens.txt" 1); tp50=$(col "$tmp/tokens.txt" 2); tp99=$(col "$tmp/tokens.txt" 3); tcpu=$(col "$tmp/tokens.txt" 4)
na=$(col "$tmp/none.txt" 1); np50=$(col "$tmp/none.txt" 2); np99=$(col "$tmp/none.txt" 3); ncpu=$(col "$tmp/none.txt" 4)
ratio=$(awk -v a="$ta" -v b="$na" 'BEGIN {printf "%.3f", a / b}')
delta=$(awk -v a="$ta" -v b="$na" 'BEGIN {printf "%+.1f", (a / b - 1) * 100}')
echo
echo "| check tail, scoped token vs --auth none, ${conns} conns, loopback, median of ${runs}×${secs} s | tokens ${ta} req/s, p50 ${tp50} ms, p99 ${tp99} ms, ${tcpu} µs CPU/req | none ${na} req/s, p50 ${np50} ms, p99 ${np99} ms, ${ncpu} µs CPU/req | ${ratio}x (${delta}% req/s) |"
