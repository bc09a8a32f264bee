#!/usr/bin/env bash
# bench/realtime-routes.sh — the realtime routes (issue 9), in one run:
#  1. agent → browser latency on session channels: 100 sessions, each with an agent appending
#     directly with the official S2 SDK (s2s over HTTP/2, credentials from the channel PUT's
#     X-S2-* headers only; one record every 50–100 ms per session) and a browser-side SSE
#     subscriber on GET /realtime/v1/sessions/<key>/out (the session's public JWT). Peer, same
#     run, same records: a second subscriber per session reading the same stream through weir's
#     own /v1 SSE (root token), so the realtime route's overhead is a ratio. External peer:
#     Redis (XADD with appendfsync always + XREAD BLOCK, same schedule and bodies, one connection
#     per agent and per reader). See bench/realtime-routes.mjs.
#  2. channel PUT requests/s with a warm token cache (wrk, PUT /realtime/v1/sessions/<key>/out
#     cycling over the run's sessions, environment secret key) against, on the same server, the
#     cheapest authenticated route (GET …/records/tail of a channel stream, root token), and
#     nginx answering the same PUT requests with `return 202` (the HTTP ceiling).
# Each run starts a fresh weir and a fresh redis with empty data directories on disk, pinned to
# CPU 0; every load generator runs on CPU 1. Latency runs alternate which server goes first.
# Prints each run, then the medians as markdown rows.
#
# Usage: bench/realtime-routes.sh [runs=3] [sessions=100] [seconds=10] [put_seconds=5] [conns=64]
# Env:   WEIR_BIN (default build/release/weir), BENCH_DIR (default $TMPDIR or /tmp),
#        NO_REDIS=1 to skip the Redis peer, AGENT_CPU=0 to move the agents' process off the
#        subscribers' CPU (onto the server's: for both weir and Redis alike)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
sessions=${2:-100}
secs=${3:-10}
psecs=${4:-5}
conns=${5:-64}
weir=${WEIR_BIN:-build/release/weir}
[ -x "$weir" ] || { echo "build first: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release -j2" >&2; exit 1; }
for t in node taskset curl wrk nginx; do
    command -v "$t" >/dev/null || { echo "missing $t; run: scripts/deps.sh bench" >&2; exit 1; }
done
redis=1
if [ -n "${NO_REDIS:-}" ]; then
    redis=
elif ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    echo "missing redis-server; run: scripts/deps.sh bench (or NO_REDIS=1)" >&2
    exit 1
fi
if [ ! -d tests/e2e/node_modules/@s2-dev/streamstore ]; then
    (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
[ "$(ulimit -n)" -ge $((4 * sessions + 256)) ] 2>/dev/null || ulimit -n $((4 * sessions + 1024)) 2>/dev/null ||
    { echo "raise the open-files limit above $((4 * sessions + 256))" >&2; exit 1; }

tmp=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/weir-bench-routes.XXXXXX")
tmp=$(cd "$tmp" && pwd) # nginx and redis need absolute paths
pid=
rpid=
npid=
cleanup() {
    for p in $pid $rpid $npid; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
if [ "$(stat -f -c %T "$tmp")" = tmpfs ]; then
    echo "warning: $tmp is on tmpfs, where fsync is free; set BENCH_DIR to a directory on disk" >&2
fi
port=18098
rport=18099
nport=18100
load=$(cut -d' ' -f1 /proc/loadavg)
awk -v l="$load" 'BEGIN {exit !(l > 1.0)}' &&
    echo "warning: load average $load before the run; other work on these CPUs skews the numbers" >&2

# nginx: the same PUT requests answered with 202 and weir's body, no work behind them.
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $tmp/nginx;
  proxy_temp_path $tmp/nginx;
  fastcgi_temp_path $tmp/nginx;
  uwsgi_temp_path $tmp/nginx;
  scgi_temp_path $tmp/nginx;
  server { listen 127.0.0.1:$nport; location / { default_type application/json; return 202 '{"version":"v2"}'; } }
}
CONF
taskset -c 0 nginx -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log" &
npid=$!
for _ in $(seq 100); do curl -s -o /dev/null -X PUT "http://127.0.0.1:$nport/" && break; sleep 0.1; done

# wrk scripts. Both print "RESULT <requests/s> <p50 µs> <p99 µs> <non-2xx> <socket errors> <requests>".
cat >"$tmp/put.lua" <<'LUA'
-- PUT /realtime/v1/sessions/s-<i>/out, i cycling over the run's SESSIONS, secret key KEY.
local n = tonumber(os.getenv("SESSIONS"))
local reqs = {}
local i = 0
function init(args)
    for s = 0, n - 1 do
        -- An empty body makes wrk send Content-Length: 0, as browsers and fetch do for a bare PUT.
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
    io.write(string.format("RESULT %.1f %d %d %d %d %d\n", summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(99), e.status,
        e.connect + e.read + e.write + e.timeout, summary.requests))
end
LUA
cat >"$tmp/tail.lua" <<'LUA'
-- GET check-tail of STREAM (URL-encoded) in BASIN with the root token.
wrk.method = "GET"
wrk.path = "/v1/streams/" .. os.getenv("STREAM") .. "/records/tail"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("WEIR_ROOT_TOKEN")
wrk.headers["s2-basin"] = os.getenv("BASIN")
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("RESULT %.1f %d %d %d %d %d\n", summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(99), e.status,
        e.connect + e.read + e.write + e.timeout, summary.requests))
end
LUA

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# wrk_run <lua> <url> <server pid or ""> [seconds] → "<req/s> <p50 ms> <p99 ms> <server CPU
# µs/request>"; fails on any non-2xx answer or socket error.
wrk_run() {
    local out c0=0 c1=0
    [ -n "$3" ] && c0=$(cpu_ticks "$3")
    out=$(taskset -c 1 wrk -t1 -c"$conns" -d"${4:-$psecs}s" --timeout 10s -s "$1" "$2")
    [ -n "$3" ] && c1=$(cpu_ticks "$3")
    echo "$out" | awk -v ticks=$((c1 - c0)) -v hz="$hz" '/^RESULT/ {
        if ($5 != 0 || $6 != 0) { print "wrk: " $5 " non-2xx, " $6 " socket errors" > "/dev/stderr"; exit 1 }
        printf "%.0f %.3f %.3f %.2f\n", $2, $3 / 1000, $4 / 1000, ticks / hz * 1e6 / $7 }'
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

start_weir() {
    rm -rf "$tmp/data"
    mkdir -p "$tmp/data"
    taskset -c 0 "$weir" serve --listen "127.0.0.1:$port" --data-dir "$tmp/data" --log-level warn \
        >"$tmp/weir.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/ping" >/dev/null && return 0; sleep 0.1; done
    echo "weir did not start" >&2
    cat "$tmp/weir.log" >&2
    exit 1
}
start_redis() {
    rm -rf "$tmp/redis"
    mkdir -p "$tmp/redis"
    taskset -c 0 redis-server --bind 127.0.0.1 --port "$rport" --dir "$tmp/redis" --save "" \
        --appendonly yes --appendfsync always --daemonize no --logfile "$tmp/redis/redis.log" &
    rpid=$!
    for _ in $(seq 100); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
    redis-cli -p "$rport" config get appendfsync | tr '\n' ' ' | grep -q 'appendfsync always' ||
        { echo "redis is not running with appendfsync always" >&2; exit 1; }
}
# latency_weir / latency_redis: print the generator's lines (indented) and append its RESULT.
latency_weir() {
    local out
    out=$(taskset -c 1 node bench/realtime-routes.mjs --url "http://127.0.0.1:$port" --token "$WEIR_ROOT_TOKEN" \
        --pid "$pid" --sessions "$sessions" --secs "$secs" ${AGENT_CPU:+--agent-cpu "$AGENT_CPU"}) ||
        { echo "$out"; tail -n 50 "$tmp/weir.log"; echo "run $i: weir latency run failed" >&2; exit 1; }
    echo "$out" | grep -v '^RESULT\|^SETUP' | sed 's/^/  weir:  /'
    echo "$out" | awk '/^RESULT/ {$1 = ""; print}' >>"$tmp/lat-weir.txt"
    read -r _ key _ basin stream0 <<<"$(echo "$out" | grep '^SETUP')"
}
latency_redis() {
    local out
    out=$(taskset -c 1 node bench/realtime-routes.mjs --redis "$rport" --pid "$rpid" \
        --sessions "$sessions" --secs "$secs" ${AGENT_CPU:+--agent-cpu "$AGENT_CPU"}) ||
        { echo "$out"; echo "run $i: redis latency run failed" >&2; exit 1; }
    echo "$out" | grep -v '^RESULT' | sed 's/^/  redis: /'
    echo "$out" | awk '/^RESULT/ {$1 = ""; print}' >>"$tmp/lat-redis.txt"
}

: >"$tmp/lat-weir.txt"
: >"$tmp/lat-redis.txt"
: >"$tmp/put.txt"
: >"$tmp/tail.txt"
: >"$tmp/nginx.txt"
for i in $(seq "$runs"); do
    WEIR_ROOT_TOKEN="bench-$(od -An -tx8 -N8 /dev/urandom | tr -d ' ')"
    export WEIR_ROOT_TOKEN
    start_weir
    [ -n "$redis" ] && start_redis
    echo "run $i (load average $(cut -d' ' -f1-3 /proc/loadavg)):"
    if [ -n "$redis" ] && [ $((i % 2)) = 0 ]; then
        latency_redis
        latency_weir
    else
        latency_weir
        if [ -n "$redis" ]; then latency_redis; fi
    fi
    if [ -n "$redis" ]; then
        kill "$rpid"
        wait "$rpid" || true
        rpid=
    fi

    # Channel PUTs with a warm cache: the run's setup already PUT every channel once (and minted
    # the environment's token), so every PUT here is answered from the cache.
    enc=$(printf %s "$stream0" | sed 's#/#%2F#g')
    put() { KEY=$key SESSIONS=$sessions wrk_run "$tmp/put.lua" "http://127.0.0.1:$port" "$pid" "$@"; }
    tailr() { STREAM=$enc BASIN=$basin wrk_run "$tmp/tail.lua" "http://127.0.0.1:$port" "$pid"; }
    put 1 >/dev/null # warm-up (connections, caches)
    if [ $((i % 2)) = 1 ]; then p=$(put); t=$(tailr); else t=$(tailr); p=$(put); fi
    n=$(KEY=$key SESSIONS=$sessions wrk_run "$tmp/put.lua" "http://127.0.0.1:$nport" "")
    read -r pa pp50 pp99 pcpu <<<"$p"
    read -r ta tp50 tp99 tcpu <<<"$t"
    read -r na np50 np99 _ <<<"$n"
    echo "  PUT channel (warm): $pa req/s p50 ${pp50} ms p99 ${pp99} ms ${pcpu} µs server CPU/req |" \
        "GET tail (root): $ta req/s p50 ${tp50} ms p99 ${tp99} ms ${tcpu} µs CPU/req | nginx 202: $na req/s p50 ${np50} ms p99 ${np99} ms"
    echo "$p" >>"$tmp/put.txt"
    echo "$t" >>"$tmp/tail.txt"
    echo "$n" >>"$tmp/nginx.txt"
    kill "$pid"
    wait "$pid" || true
    pid=
done

col() { awk -v c="$2" '{print $c}' "$1" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
rt50=$(col "$tmp/lat-weir.txt" 1); rt99=$(col "$tmp/lat-weir.txt" 2); rtmax=$(col "$tmp/lat-weir.txt" 3)
v150=$(col "$tmp/lat-weir.txt" 4); v199=$(col "$tmp/lat-weir.txt" 5)
rta50=$(col "$tmp/lat-weir.txt" 7); rta99=$(col "$tmp/lat-weir.txt" 8)
wack50=$(col "$tmp/lat-weir.txt" 11); wack99=$(col "$tmp/lat-weir.txt" 12)
wcpu=$(col "$tmp/lat-weir.txt" 15); scpu=$(col "$tmp/lat-weir.txt" 16); acpu=$(col "$tmp/lat-weir.txt" 17)
records=$(col "$tmp/lat-weir.txt" 13)
echo
echo "| session channel latency, ${sessions} sessions × (1 realtime + 1 /v1 SSE subscriber), SDK s2s appends every 50–100 ms, ${secs} s, ~${records} records, median of ${runs} |" \
    "realtime SSE send→event p50 ${rt50} ms, p99 ${rt99} ms, max ${rtmax} ms; ack→event p50 ${rta50} ms, p99 ${rta99} ms |" \
    "/v1 SSE send→event p50 ${v150} ms, p99 ${v199} ms | ratio p50 $(ratio "$rt50" "$v150")x, p99 $(ratio "$rt99" "$v199")x |" \
    "SDK send→ack p50 ${wack50} ms, p99 ${wack99} ms | CPU: server ${wcpu}%, subscribers ${scpu}%, agents ${acpu}% |"
if [ -n "$redis" ]; then
    r50=$(col "$tmp/lat-redis.txt" 1); r99=$(col "$tmp/lat-redis.txt" 2); rmax=$(col "$tmp/lat-redis.txt" 3)
    rack50=$(col "$tmp/lat-redis.txt" 11); rack99=$(col "$tmp/lat-redis.txt" 12); rcpu=$(col "$tmp/lat-redis.txt" 15)
    echo "| same schedule, redis XADD (appendfsync always) + XREAD BLOCK, median of ${runs} |" \
        "send→event p50 ${r50} ms, p99 ${r99} ms, max ${rmax} ms | XADD send→ack p50 ${rack50} ms, p99 ${rack99} ms |" \
        "weir realtime / redis: p50 $(ratio "$rt50" "$r50")x, p99 $(ratio "$rt99" "$r99")x | redis CPU ${rcpu}% |"
fi
pa=$(col "$tmp/put.txt" 1); pp50=$(col "$tmp/put.txt" 2); pp99=$(col "$tmp/put.txt" 3); pcpu=$(col "$tmp/put.txt" 4)
ta=$(col "$tmp/tail.txt" 1); tcpu=$(col "$tmp/tail.txt" 4)
na=$(col "$tmp/nginx.txt" 1)
echo "| channel PUT, warm token cache, ${conns} conns, ${psecs} s, median of ${runs} |" \
    "${pa} req/s, p50 ${pp50} ms, p99 ${pp99} ms, ${pcpu} µs server CPU/req |" \
    "GET tail (root token) ${ta} req/s, ${tcpu} µs CPU/req: $(ratio "$pa" "$ta")x | nginx 202 ${na} req/s: $(ratio "$pa" "$na")x |"
