-- bench/wrk-unique.lua — shared by the wrk scripts whose every request creates something new
-- (session-create.lua, stream-create.lua): `tag` and `counter` make names no other request of the
-- run uses, and report() prints the machine-readable result line.
counter = 0
tag = ""
local threads = 0

-- Every wrk thread runs its own Lua state with the same random sequence: the thread number
-- (handed out here, in the main state) and the start time keep the names distinct.
function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end

function init(args)
    tag = string.format("%d-%d", os.time(), tid)
end

-- "<label> <requests/s> <p50 µs> <p99 µs> <non-2xx responses> <socket errors>"
function report(label, summary, latency)
    local e = summary.errors
    local secs = summary.duration / 1e6
    io.write(string.format("%s %.1f %d %d %d %d\n", label, summary.requests / secs,
        latency:percentile(50), latency:percentile(99), e.status,
        e.connect + e.read + e.write + e.timeout))
end
