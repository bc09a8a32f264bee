-- bench/stream-create.lua — wrk script for bench/control-plane.sh's mixed storm: every request
-- creates a new stream (POST /v1/streams with a name no other request uses) in the basin named by
-- BASIN, with the root token in WEIR_ROOT_TOKEN: one synced store metadata write each.
-- At the end it prints one machine-readable line:
--   STREAMS <creates/s> <p50 µs> <p99 µs> <non-2xx responses> <socket errors>
dofile("bench/wrk-unique.lua")

function request()
    counter = counter + 1
    return wrk.format("POST", "/v1/streams", {
        ["Content-Type"] = "application/json",
        ["Authorization"] = "Bearer " .. os.getenv("WEIR_ROOT_TOKEN"),
        ["S2-Basin"] = os.getenv("BASIN"),
    }, string.format('{"stream":"s-%s-%d"}', tag, counter))
end

function done(summary, latency, requests)
    report("STREAMS", summary, latency)
end
