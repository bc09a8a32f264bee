#!/usr/bin/env bash
# bench/memory-bounds.sh — peak server memory under the hostile clients of issue #13 (pipelining
# without reading, HTTP/2 requests that never end, bodies without END_STREAM, SSE readers that
# stop reading), per connection or reader, against the Release build. See bench/memory-bounds.mjs.
# Memory, not time: the numbers do not depend on machine load, but run it alone anyway.
#
# Usage: bench/memory-bounds.sh [scale=1]
# Env:   WEIR_BIN (default build/release/weir)
set -euo pipefail
cd "$(dirname "$0")/.."
weir=${WEIR_BIN:-build/release/weir}
[ -x "$weir" ] || { echo "build first: cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release -j2" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || true
WEIR_BIN="$weir" node bench/memory-bounds.mjs "${1:-1}"
