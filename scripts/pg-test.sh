#!/usr/bin/env bash
# pg-test.sh CMD... — runs CMD against a private, throw-away PostgreSQL server.
#
# Makes a temp dir, initdb's a cluster in it (superuser `weir`, trust auth, fsync on), starts
# `postgres` on a free 127.0.0.1 port with its socket in the same dir, waits until it accepts
# connections, exports
#     WEIR_TEST_PG="host=127.0.0.1 port=N user=weir dbname=postgres"
# and runs CMD. Whatever happens, the server is stopped (pg_ctl stop -m fast) and the dir removed
# when the script exits; the script exits with CMD's status.
#
# The server binaries come from /usr/lib/postgresql/<version>/bin (the newest installed version;
# Debian's `postgresql` package). PostgreSQL refuses to run as root, so under root (CI) the
# cluster belongs to a dedicated system user, `weirpg`, created here if missing; otherwise to the
# calling user. TMPDIR must be traversable by that user (the default /tmp is).
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 CMD [ARG...]" >&2
    exit 2
fi

bindir=""
for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/postgres" ] && bindir="$d" # the glob sorts; the last is the newest
done
if [ -z "$bindir" ]; then
    echo "pg-test: no PostgreSQL server found under /usr/lib/postgresql/*/bin" \
        "(install the postgresql package: scripts/deps.sh)" >&2
    exit 1
fi

as_owner=()
if [ "$(id -u)" -eq 0 ]; then
    if ! id -u weirpg >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
            weirpg 2>/dev/null || id -u weirpg >/dev/null # another run may have just made it
    fi
    as_owner=(runuser -u weirpg --)
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/weir-pg.XXXXXX")"
chmod 755 "$dir"
[ "${#as_owner[@]}" -eq 0 ] || chown weirpg "$dir"
started=0

# shellcheck disable=SC2317 # reached through the EXIT trap
cleanup() {
    local rc=$?
    trap '' INT TERM
    if [ "$started" -eq 1 ]; then
        "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" stop -m fast >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# Our stderr may be a pipe whose reader died with CMD (`pg-test.sh CMD | tail`, the group killed):
# bash's own "Terminated" notice would then kill us with SIGPIPE before the cleanup. CMD itself
# gets the default disposition back (see below).
trap '' PIPE

if ! "${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -A trust -U weir -E UTF8 --no-locale \
    >"$dir/initdb.log" 2>&1; then
    echo "pg-test: initdb failed:" >&2
    cat "$dir/initdb.log" >&2
    exit 1
fi

# A random port; if it is taken the server fails to start and another one is tried.
port=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
    try=$((20000 + RANDOM % 40000))
    started=1 # from here on the cleanup stops whatever may be running
    if "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $try -k $dir -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200" \
        start >/dev/null 2>&1; then
        port="$try"
        break
    fi
    # not ready in time, or the port was taken: make sure nothing is left before the next try
    "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" stop -m immediate >/dev/null 2>&1 || true
done
if [ -z "$port" ]; then
    echo "pg-test: could not start postgres; its log:" >&2
    cat "$dir/server.log" >&2 || true
    exit 1
fi
for _ in $(seq 1 100); do
    "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" && break
    sleep 0.1
done
"$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" || { echo "pg-test: server not ready" >&2; exit 1; }

export WEIR_TEST_PG="host=127.0.0.1 port=$port user=weir dbname=postgres"
set +e
(
    trap - PIPE
    exec "$@"
)
rc=$?
set -e
exit "$rc"
