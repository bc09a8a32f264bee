#!/usr/bin/env bash
# Installs the Debian packages weir needs, and only those that are missing. Idempotent: a
# second run with everything present touches nothing. `deps.sh bench` also installs the
# peers the benchmarks compare against (wrk, nginx, redis); `deps.sh lint` the clang tools for
# `make lint`, `make fuzz-smoke` and `make tsan` (clang, clang-format, clang-tidy, libFuzzer).
# `prometheus` brings promtool, which the e2e tests use to parse and lint the /metrics scrape.
# `chromium` is the headless browser the web console's browser tests drive (through
# puppeteer-core, pinned in tests/e2e), with a font for its screenshots.
# `libpq-dev` is the PostgreSQL client library the control plane's PostgreSQL backend links
# (src/meta/postgres.c); `postgresql` brings the server that `make unit` starts for its tests
# (scripts/pg-test.sh), so that both control-plane backends are tested on every run.
set -euo pipefail

pkgs=(build-essential cmake pkg-config libuv1-dev libhttp-parser-dev libnghttp2-dev
      librocksdb-dev libjansson-dev libprotobuf-c-dev protobuf-c-compiler libsqlite3-dev zlib1g-dev libzstd-dev
      libssl-dev libcurl4-openssl-dev libcmocka-dev prometheus chromium fonts-dejavu-core
      libpq-dev postgresql)
if [ "${1:-}" = "bench" ]; then
    pkgs+=(wrk nginx-light redis-server hyperfine nghttp2-client)
fi
if [ "${1:-}" = "lint" ]; then
    pkgs+=(clang clang-format clang-tidy libclang-rt-dev)
fi
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists yet; refresh them once before installing.
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial)" ] ||
   ! $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/weir-deps.log 2>&1; then
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/weir-deps.log 2>&1 ||
        { cat /tmp/weir-deps.log; exit 1; }
fi
