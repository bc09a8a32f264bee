-- bench/session-create.lua — wrk script for bench/control-plane.sh: every request creates a new
-- chat session (POST /api/v1/sessions with an externalId no other request uses) with the
-- environment secret key in WEIR_API_KEY: one control-plane row (session + first run) each.
-- At the end it prints one machine-readable line:
--   RESULT <creates/s> <p50 µs> <p99 µs> <non-2xx responses> <socket errors>
dofile("bench/wrk-unique.lua")

function request()
    counter = counter + 1
    local body = string.format(
        '{"externalId":"chat-%s-%d","type":"chat.agent","taskIdentifier":"bench-agent"}',
        tag, counter)
    return wrk.format("POST", "/api/v1/sessions", {
        ["Content-Type"] = "application/json",
        ["Authorization"] = "Bearer " .. os.getenv("WEIR_API_KEY"),
    }, body)
end

function done(summary, latency, requests)
    report("RESULT", summary, latency)
end
