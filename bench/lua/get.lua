-- One GET over and over, optionally with a session cookie (BENCH_COOKIE = "name=value").
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local cookie = os.getenv("BENCH_COOKIE")
if cookie and cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end

response = function(status, headers, body)
  count_status(status)
end

done = function(summary, latency, requests)
  report(summary, latency)
end
