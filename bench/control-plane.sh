#!/usr/bin/env bash
# bench/control-plane.sh — control-plane writes (issue 15), in one run:
#  1. session creates/s: wrk with `conns` connections, each request POST /api/v1/sessions with an
#     externalId no other request uses (one session row and its first run per request), the
#     environment's secret key; while it runs, bench/lag-probe.py sends GET /ping every 5 ms on
#     its own connection: its p99 is how long the loop thread keeps unrelated requests waiting.
#     For WEIR_BIN and, when set, BASELINE_BIN (an older build: the before/after of a change).
#  2. the peer: PostgreSQL (Debian's, initdb into the bench directory, fsync and
#     synchronous_commit on) with pgbench, `conns` clients, each transaction one single-row INSERT
#     into a table with a unique text column — what a database behind the same rows would commit;
#     then, on the same PostgreSQL, the session-create run of 1. with weir's control plane there
#     (WEIR_CONTROL_PLANE; weir and postgres share CPU 0).
# Every server is pinned to CPU 0 and started fresh on disk for each run; wrk, the probe and
# pgbench run on CPU 1. Prints each run, then the medians as markdown rows.
#
# Usage: bench/control-plane.sh [runs=3] [seconds=10] [conns=32]
# Env:   WEIR_BIN (default build/release/weir), BASELINE_BIN (optional), BENCH_DIR (default $TMPDIR
#        or /tmp), NO_PG=1 to skip PostgreSQL, WEIR_SERVE_ARGS (more `weir serve` flags, e.g.
#        --control-plane-writers 16), STREAM_CONNS=N to add a storm of S2 stream creates (N more
#        connections, bench/stream-create.lua: one synced store metadata write each) to every run,
#        STREAM_OP=churn to make that storm cycle through create, PATCH and DELETE of a stream,
#        ONLY_PG=1 to run only the PostgreSQL part (pgbench and weir over it), PG_CPUS=1 to pin
#        PostgreSQL to CPU 1 instead (beside the load generators: a database that does not share
#        weir's core; the pgbench ratio is then not the one-core comparison)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
secs=${2:-10}
conns=${3:-32}
stream_conns=${STREAM_CONNS:-0}
weir=${WEIR_BIN:-build/release/weir}
base=${BASELINE_BIN:-}
[ -x "$weir" ] || { echo "build first: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release -j2" >&2; exit 1; }
for t in taskset curl wrk python3; do
    command -v "$t" >/dev/null || { echo "missing $t; run: scripts/deps.sh bench" >&2; exit 1; }
done
pgbin=
if [ -z "${NO_PG:-}" ]; then
    pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -x "$pgbin/pgbench" ] || { echo "missing PostgreSQL (postgresql, postgresql-contrib); or NO_PG=1" >&2; exit 1; }
fi

tmp=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/weir-bench-cp.XXXXXX")
tmp=$(cd "$tmp" && pwd)
chmod 755 "$tmp"
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ -n "$pgbin" ] && [ -f "$tmp/pg/postmaster.pid" ] && as_pg "$pgbin/pg_ctl" -D "$tmp/pg" -m fast stop >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
if [ "$(stat -f -c %T "$tmp")" = tmpfs ]; then
    echo "warning: $tmp is on tmpfs, where fsync is free; set BENCH_DIR to a directory on disk" >&2
fi
# PostgreSQL refuses to run as root: as root, its processes run as the `postgres` user.
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
port=18131
pgport=18132
load=$(cut -d' ' -f1 /proc/loadavg)
echo "load average before the run: $load"
awk -v l="$load" 'BEGIN {exit !(l > 1.0)}' &&
    echo "warning: load average $load before the run; other work on these CPUs skews the numbers" >&2
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

start_weir() { # <binary>
    rm -rf "$tmp/data"
    mkdir -p "$tmp/data"
    WEIR_ROOT_TOKEN=$root WEIR_CONTROL_PLANE=${WEIR_CONTROL_PLANE:-} taskset -c 0 "$1" serve --listen "127.0.0.1:$port" --data-dir "$tmp/data" \
        --log-level warn --access-log off ${WEIR_SERVE_ARGS:-} >"$tmp/weir.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/ping" >/dev/null && break; sleep 0.1; done
    curl -fs "http://127.0.0.1:$port/ping" >/dev/null || { cat "$tmp/weir.log" >&2; echo "weir did not start" >&2; exit 1; }
    local a=(-fsS -H "Authorization: Bearer $root" -H 'Content-Type: application/json')
    local org proj env
    org=$(curl "${a[@]}" -d '{"slug":"bench","title":"Bench"}' "http://127.0.0.1:$port/admin/api/v1/orgs" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    proj=$(curl "${a[@]}" -d '{"slug":"bench"}' "http://127.0.0.1:$port/admin/api/v1/orgs/$org/projects" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    env=$(curl "${a[@]}" -d '{"slug":"dev"}' "http://127.0.0.1:$port/admin/api/v1/projects/$proj/environments")
    WEIR_API_KEY=$(echo "$env" | python3 -c 'import json,sys; print(json.load(sys.stdin)["apiKey"])')
    export WEIR_API_KEY
}
stop_weir() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=; }

# weir_run <label> <binary>: one run; prints it and appends "<creates/s> <p50> <p99> <probe p99>
# <probe max>" to $tmp/<label>.txt
weir_run() {
    start_weir "$2"
    taskset -c 1 python3 bench/lag-probe.py 127.0.0.1 "$port" "$secs" >"$tmp/probe.txt" &
    local ppid=$!
    local spid= streams=
    if [ "$stream_conns" -gt 0 ]; then # the store's metadata writes in the same storm
        curl -fsS -o /dev/null -X POST "http://127.0.0.1:$port/v1/basins" -H "authorization: Bearer $root" \
            -H 'content-type: application/json' -d '{"basin":"bench-cp-streams"}'
        # churn: one connection per wrk thread, so each stream's create, PATCH and DELETE go in order
        local sthreads=1
        [ "${STREAM_OP:-}" = churn ] && sthreads=$stream_conns
        BASIN=bench-cp-streams WEIR_ROOT_TOKEN=$root taskset -c 1 wrk -t "$sthreads" -c "$stream_conns" -d "${secs}s" \
            --latency -s bench/stream-create.lua "http://127.0.0.1:$port" >"$tmp/streams.txt" &
        spid=$!
    fi
    local out
    out=$(taskset -c 1 wrk -t 2 -c "$conns" -d "${secs}s" --latency -s bench/session-create.lua \
        "http://127.0.0.1:$port" | grep '^RESULT')
    wait "$ppid"
    if [ -n "$spid" ]; then
        wait "$spid"
        read -r _ srps _ sp99 sbad serr <<<"$(grep '^STREAMS' "$tmp/streams.txt")"
        [ "$sbad" = 0 ] && [ "$serr" = 0 ] || { echo "stream creates: $sbad non-2xx, $serr socket errors" >&2; exit 1; }
        streams=$(printf '; with %.0f stream creates/s (p99 %.2f ms)' "$srps" "$(echo "$sp99 / 1000" | bc -l)")
    fi
    local probe
    probe=$(grep '^PROBE' "$tmp/probe.txt")
    if [ -n "${WEIR_CONTROL_PLANE:-}" ] && [ -e "$tmp/data/control.sqlite3" ]; then
        echo "weir ignored WEIR_CONTROL_PLANE (a build without PostgreSQL support?)" >&2
        exit 1
    fi
    stop_weir
    read -r _ rps p50 p99 bad errs <<<"$out"
    [ "$bad" = 0 ] && [ "$errs" = 0 ] || { echo "wrk: $bad non-2xx, $errs socket errors" >&2; exit 1; }
    read -r _ pn pp50 pp99 pmax <<<"$probe"
    printf '  %s: %.0f creates/s, p50 %.2f ms, p99 %.2f ms; /ping probe (%s) p50 %.2f ms, p99 %.2f ms, max %.2f ms%s\n' \
        "$1" "$rps" "$(echo "$p50 / 1000" | bc -l)" "$(echo "$p99 / 1000" | bc -l)" "$pn" "$pp50" "$pp99" "$pmax" "$streams"
    echo "$rps $(echo "$p50 / 1000" | bc -l) $(echo "$p99 / 1000" | bc -l) $pp99 $pmax" >>"$tmp/$1.txt"
}

pg_run() {
    rm -rf "$tmp/pg"
    mkdir -p "$tmp/pg" "$tmp/pgsock"
    [ "$(id -u)" -eq 0 ] && chown postgres "$tmp/pg" "$tmp/pgsock"
    as_pg "$pgbin/initdb" -D "$tmp/pg" -A trust -U bench >/dev/null
    as_pg taskset -c "${PG_CPUS:-0}" "$pgbin/pg_ctl" -D "$tmp/pg" -l "$tmp/pgsock/log" -w \
        -o "-p $pgport -k $tmp/pgsock -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=$((conns + 10))" \
        start >/dev/null
    "$pgbin/psql" -q -h 127.0.0.1 -p "$pgport" -U bench -d postgres \
        -c "CREATE TABLE bench_sessions (id bigserial PRIMARY KEY, external_id text UNIQUE NOT NULL, type text, created_at timestamptz DEFAULT now())"
    echo "INSERT INTO bench_sessions (external_id, type) VALUES (md5(random()::text || clock_timestamp()::text), 'chat.agent');" >"$tmp/insert.sql"
    local out
    out=$(taskset -c 1 "$pgbin/pgbench" -h 127.0.0.1 -p "$pgport" -U bench -n -c "$conns" -j 2 -T "$secs" \
        -r -f "$tmp/insert.sql" postgres 2>&1)
    # weir with its control plane on this PostgreSQL (same core: weir and postgres on CPU 0)
    WEIR_CONTROL_PLANE="postgresql://bench@127.0.0.1:$pgport/postgres" weir_run pg "$weir"
    as_pg "$pgbin/pg_ctl" -D "$tmp/pg" -m fast stop >/dev/null
    local tps lat
    tps=$(echo "$out" | awk '/^tps/ {print $3; exit}')
    lat=$(echo "$out" | awk '/latency average/ {print $4; exit}')
    printf '  postgres: %.0f INSERTs/s (pgbench, %s clients), latency average %s ms\n' "$tps" "$conns" "$lat"
    echo "$tps $lat" >>"$tmp/pgbench.txt"
}

root="bench-$(od -An -tx8 -N8 /dev/urandom | tr -d ' ')"
for i in $(seq "$runs"); do
    echo "run $i:"
    if [ -z "${ONLY_PG:-}" ]; then
        weir_run after "$weir"
        [ -n "$base" ] && weir_run before "$base"
    fi
    [ -n "$pgbin" ] && pg_run
done

col() { awk -v c="$1" '{print $c}' "$2" | median; }
echo
echo "| $conns in flight, ${secs} s, median of $runs | creates/s | p50 | p99 | /ping probe p99 | probe max |"
echo "|---|---|---|---|---|---|"
for l in before after pg; do
    [ -f "$tmp/$l.txt" ] || continue
    case $l in
    after) name="weir, SQLite ($weir)" ;;
    before) name="weir before, SQLite ($base)" ;;
    pg) name="weir, PostgreSQL control plane ($weir)" ;;
    esac
    printf '| %s | %.0f | %.2f ms | %.2f ms | %.2f ms | %.2f ms |\n' "$name" "$(col 1 "$tmp/$l.txt")" \
        "$(col 2 "$tmp/$l.txt")" "$(col 3 "$tmp/$l.txt")" "$(col 4 "$tmp/$l.txt")" "$(col 5 "$tmp/$l.txt")"
done
if [ -f "$tmp/pgbench.txt" ]; then
    pg=$(col 1 "$tmp/pgbench.txt")
    printf '| postgres pgbench single-row INSERT | %.0f | | avg %.2f ms | | |\n' "$pg" "$(col 2 "$tmp/pgbench.txt")"
    [ -f "$tmp/after.txt" ] &&
        printf '| weir (SQLite) / pgbench | %.2f× | | | | |\n' "$(echo "$(col 1 "$tmp/after.txt") / $pg" | bc -l)"
    printf '| weir (PostgreSQL) / pgbench | %.2f× | | | | |\n' "$(echo "$(col 1 "$tmp/pg.txt") / $pg" | bc -l)"
fi
[ -f "$tmp/before.txt" ] && printf '| after / before | %.2f× | | | | |\n' \
    "$(echo "$(col 1 "$tmp/after.txt") / $(col 1 "$tmp/before.txt")" | bc -l)"
echo "load average after the run: $(cut -d' ' -f1 /proc/loadavg)"
