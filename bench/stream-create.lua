-- bench/stream-create.lua — wrk script for bench/control-plane.sh's mixed storm: store metadata
-- changes in the basin named by BASIN, with the root token in WEIR_ROOT_TOKEN, each one synced
-- store metadata write. By default every request creates a new stream (POST /v1/streams with a
-- name no other request uses); with STREAM_OP=churn the requests cycle through create, PATCH
-- (retention) and DELETE of the same new stream.
-- At the end it prints one machine-readable line:
--   STREAMS <requests/s> <p50 µs> <p99 µs> <non-2xx responses> <socket errors>
dofile("bench/wrk-unique.lua")

local churn = os.getenv("STREAM_OP") == "churn"

function request()
    counter = counter + 1
    local headers = {
        ["Content-Type"] = "application/json",
        ["Authorization"] = "Bearer " .. os.getenv("WEIR_ROOT_TOKEN"),
        ["S2-Basin"] = os.getenv("BASIN"),
    }
    local step = churn and counter % 3 or 1
    local n = counter - (step + 2) % 3 -- the stream this cycle created
    local name = string.format("s-%s-%d", tag, n)
    if step == 2 then
        return wrk.format("PATCH", "/v1/streams/" .. name, headers,
            string.format('{"retention_policy":{"age":%d}}', 3600 + counter))
    elseif step == 0 then
        return wrk.format("DELETE", "/v1/streams/" .. name, headers)
    end
    return wrk.format("POST", "/v1/streams", headers, string.format('{"stream":"%s"}', name))
end

function done(summary, latency, requests)
    report("STREAMS", summary, latency)
end
