-- Shared by bench's wrk scripts (loaded with dofile): the end-of-run figures as one JSON line, p95 included
-- (wrk's own --latency table has no p95), the answers by status code and (mixed.lua) the requests by kind.
-- wrk runs done() in its own Lua state: the threads' globals are read back with thread:get.
statuses = {}
counts = {}
local threads = {}

setup = function(thread)
  threads[#threads + 1] = thread
end

function count_status(status)
  statuses[status] = (statuses[status] or 0) + 1
end

local function merged(name)
  local total = {}
  for _, thread in ipairs(threads) do
    for key, n in pairs(thread:get(name) or {}) do total[key] = (total[key] or 0) + n end
  end
  local parts = {}
  for key, n in pairs(total) do parts[#parts + 1] = string.format('"%s":%d', tostring(key), n) end
  return "{" .. table.concat(parts, ",") .. "}"
end

function report(summary, latency)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"statuses":%s,"mix":%s}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout,
    merged("statuses"), merged("counts")))
end
