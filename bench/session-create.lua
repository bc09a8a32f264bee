-- bench/session-create.lua — wrk script for bench/control-plane.sh: every request creates a new
-- chat session (POST /api/v1/sessions with an externalId no other request uses) with the
-- environment secret key in WEIR_API_KEY: one control-plane row (session + first run) each.
-- At the end it prints one machine-readable line:
--   RESULT <creates/s> <p50 µs> <p99 µs> <non-2xx responses> <socket errors>
local counter = 0
local tag = ""
local threads = 0

-- Every wrk thread runs its own Lua state with the same random sequence: the thread number
-- (handed out here, in the main state) and the start time keep the externalIds distinct.
function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end

function init(args)
    tag = string.format("%d-%d", os.time(), tid)
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
