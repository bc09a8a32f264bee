#!/usr/bin/env bash
# Runs every libFuzzer driver of a WEIR_LIBFUZZER build for a bounded time (make fuzz-smoke).
# usage: smoke.sh BUILD_DIR SECONDS
# Each driver starts from a scratch copy of tests/fuzz/corpus/<name>/ (the committed seeds stay
# as they are) and stops after SECONDS; a crash, leak, timeout, sanitizer report or failed
# check stops it early with a non-zero status, and the input is kept in the scratch directory
# (printed) to be reproduced and added to the corpus (docs/fuzzing.md).
set -euo pipefail
build="$1"
secs="${2:-20}"
here="$(cd "$(dirname "$0")" && pwd)"
scratch="$(mktemp -d /tmp/weir-fuzz.XXXXXX)"
failed=()
for src in "$here"/fuzz_*.c; do
    exe="$(basename "$src" .c)"
    name="${exe#fuzz_}"
    mkdir -p "$scratch/$name"
    cp "$here/corpus/$name"/* "$scratch/$name/"
    log="$scratch/$name.log"
    if ASAN_OPTIONS="detect_leaks=1:abort_on_error=0" "$build/$exe" -max_total_time="$secs" \
        -max_len=16384 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$scratch/$name-" "$scratch/$name" >"$log" 2>&1; then
        runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)"
        echo "fuzz-smoke: $name ok (${runs:-?} runs in ${secs}s)"
    else
        echo "fuzz-smoke: $name FAILED; log and input in $scratch" >&2
        grep -E -m 20 'ERROR|fuzz check failed|SUMMARY|Test unit written' "$log" >&2 || tail -20 "$log" >&2
        failed+=("$name")
    fi
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz-smoke: ${#failed[@]} driver(s) failed: ${failed[*]}" >&2
    exit 1
fi
rm -rf "$scratch"
echo "fuzz-smoke: every driver ran ${secs}s without a finding"
