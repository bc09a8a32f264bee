-- bench/stream-create.lua — wrk script for bench/control-plane.sh's mixed storm: store metadata
-- changes in the basin named by BASIN, with the root token in WEIR_ROOT_TOKEN, each one synced
-- store metadata write. By default every request creates a new stream (POST /v1/streams with a
-- name no other request uses); with STREAM_OP=churn each connection (one per wrk thread) cycles
-- through create, PATCH (retention) and DELETE of a new stream, moving on when a step is answered.
-- At the end it prints one machine-readable line:
--   STREAMS <requests/s> <p50 µs> <p99 µs> <non-2xx responses> <socket errors>
dofile("bench/wrk-unique.lua")

local churn = os.getenv("STREAM_OP") == "churn"
local step = "create" -- churn: the step whose answer is awaited

function request()
    local headers = {
        ["Content-Type"] = "application/json",
        ["Authorization"] = "Bearer " .. os.getenv("WEIR_ROOT_TOKEN"),
        ["S2-Basin"] = os.getenv("BASIN"),
    }
    if not churn then
        counter = counter + 1
    end
    local name = string.format("s-%s-%d", tag, counter)
    if step == "patch" then
        return wrk.format("PATCH", "/v1/streams/" .. name, headers,
            '{"retention_policy":{"age":7200}}')
    elseif step == "delete" then
        return wrk.format("DELETE", "/v1/streams/" .. name, headers)
    end
    return wrk.format("POST", "/v1/streams", headers, string.format('{"stream":"%s"}', name))
end

if churn then
    -- wrk may build a request it never sends, so the cycle moves on answers, not on requests.
    function response(status, headers, body)
        if step == "create" then
            step = "patch"
        elseif step == "patch" then
            step = "delete"
        else
            step = "create"
            counter = counter + 1
        end
    end
end

function done(summary, latency, requests)
    report("STREAMS", summary, latency)
end
