-- bench/append-http.lua — wrk script for bench/append-http.sh: every request is one durable
-- unary JSON append of a single 200-byte record to the stream named by the STREAM environment
-- variable in the basin named by BASIN. At the end it prints one machine-readable line:
--   RESULT <acks/s> <p50 µs> <p99 µs> <non-2xx responses> <socket errors>
wrk.method = "POST"
wrk.path = "/v1/streams/" .. (os.getenv("STREAM") or "bench") .. "/records"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("WEIR_ROOT_TOKEN") or "")
wrk.headers["s2-basin"] = os.getenv("BASIN") or "bench-basin-01"
wrk.body = '{"records":[{"body":"' .. string.rep("x", 200) .. '"}]}'

function done(summary, latency, requests)
    local e = summary.errors
    local secs = summary.duration / 1e6
    io.write(string.format("RESULT %.1f %d %d %d %d\n", summary.requests / secs,
        latency:percentile(50), latency:percentile(99), e.status,
        e.connect + e.read + e.write + e.timeout))
end
