#!/usr/bin/env bash
# bench/http.sh — requests/s of weir's GET /ping against nginx serving a 2-byte file, in the
# same run with the same settings: the server pinned to CPU 0, wrk pinned to CPU 1,
# keep-alive connections. Prints each run and the medians and ratio as a markdown row.
#
# Usage: bench/http.sh [runs=3] [seconds=5] [connections=64]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
secs=${2:-5}
conns=${3:-64}
weir=build/release/weir
[ -x "$weir" ] || { echo "build first: make build" >&2; exit 1; }
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "run: scripts/deps.sh bench" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/www" "$tmp/data"
printf 'OK' >"$tmp/www/ping"
cat >"$tmp/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $tmp;
  proxy_temp_path $tmp;
  fastcgi_temp_path $tmp;
  uwsgi_temp_path $tmp;
  scgi_temp_path $tmp;
  server { listen 127.0.0.1:18089; location / { root $tmp/www; } }
}
CONF

wait_port() { for _ in $(seq 100); do curl -fs "http://127.0.0.1:$1/ping" >/dev/null && return 0; sleep 0.1; done; return 1; }
rps() { taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" "$1" | awk '/Requests\/sec/ {print $2}'; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

taskset -c 0 nginx -c "$tmp/nginx.conf" -e "$tmp/nginx-error.log" &
taskset -c 0 "$weir" serve --listen 127.0.0.1:18088 --data-dir "$tmp/data" --log-level warn >/dev/null &
wait_port 18089
wait_port 18088

: >"$tmp/weir.txt"
: >"$tmp/nginx.txt"
for i in $(seq "$runs"); do
    w=$(rps http://127.0.0.1:18088/ping)
    n=$(rps http://127.0.0.1:18089/ping)
    echo "run $i: weir $w req/s, nginx $n req/s"
    echo "$w" >>"$tmp/weir.txt"
    echo "$n" >>"$tmp/nginx.txt"
done
mw=$(median <"$tmp/weir.txt")
mn=$(median <"$tmp/nginx.txt")
ratio=$(awk -v a="$mw" -v b="$mn" 'BEGIN {printf "%.2f", a / b}')
echo
echo "| GET /ping, ${conns} keep-alive conns, ${secs}s x ${runs} | weir ${mw} req/s | nginx ${mn} req/s | ${ratio}x |"
