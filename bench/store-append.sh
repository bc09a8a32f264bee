#!/bin/sh
# store-append.sh — builds bench/store_append in Release and runs it RUNS times (default 3),
# printing every run's rows and then the median of each metric per case.
#
#   bench/store-append.sh [RUNS] [SECONDS-PER-CASE]
#
# Run it on an otherwise idle machine; the data directory goes to $TMPDIR (default /tmp), which
# should be on the disk being measured.
set -eu
RUNS=${1:-3}
SECS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/release
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target store_append -j2 >/dev/null
OUT=$(mktemp)
i=1
while [ "$i" -le "$RUNS" ]; do
    echo "run $i/$RUNS" >&2
    "$BUILD/store_append" --seconds "$SECS" | tee -a "$OUT"
    i=$((i + 1))
done
echo
echo "median of $RUNS runs:"
awk '
/^RESULT/ {
    name = ""; for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "name") name = kv[2] }
    if (!(name in seen)) { seen[name] = 1; order[n++] = name }
    for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] != "name") { k = name SUBSEP kv[1]; cnt[k]++; val[k, cnt[k]] = kv[2]; keys[kv[1]] = 1 } }
}
function median(k,   m, a, i, j, t) {
    m = cnt[k]; for (i = 1; i <= m; i++) a[i] = val[k, i] + 0
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
END {
    printf "%-12s %12s %9s %10s %9s %9s %9s\n", "case", "records/s", "MB/s", "acks/s", "p50 ms", "p99 ms", "max ms"
    for (x = 0; x < n; x++) {
        nm = order[x]
        printf "%-12s %12.0f %9.1f %10.0f %9.3f %9.3f %9.3f\n", nm, median(nm SUBSEP "recs_s"), median(nm SUBSEP "mb_s"), median(nm SUBSEP "acks_s"), median(nm SUBSEP "p50_ms"), median(nm SUBSEP "p99_ms"), median(nm SUBSEP "max_ms")
    }
}' "$OUT"
rm -f "$OUT"
