-- bench/session-create.lua — wrk script for bench/control-plane.sh: every request creates a new
-- chat session (POST /api/v1/sessions with an externalId no other request uses) with the
-- environment secret key in WEIR_API_KEY: one control-plane row (session + first run) each.
-- At the end it prints one machine-readable line:
--   RESULT <creates/s> <p50 µs> <p99 µs> <non-2xx responses> <socket errors>
local counter = 0
local tag = ""

function setup(thread)
    thread:set("tag", tostring(math.random(1, 1e9)))
end

function init(args)
    tag = tag .. tostring(math.random(1, 1e9))
end

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
    local e = summary.errors
    local secs = summary.duration / 1e6
    io.write(string.format("RESULT %.1f %d %d %d %d\n", summary.requests / secs,
        latency:percentile(50), latency:percentile(99), e.status,
        e.connect + e.read + e.write + e.timeout))
end
