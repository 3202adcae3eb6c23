-- B5's mix: 70% 「我的申请」, 20% the public verification page, 8% certificate downloads, 2% uploads of a scan.
-- Each upload's file is deleted again by a later request (a person removing a page), so the per-person draft
-- quota never fills; those DELETEs come on top of the mix and are counted apart.
--
-- BENCH_LIST_PATH, BENCH_VERIFY_PATH: paths; BENCH_COOKIE: the cookie of the person whose list and certificates
-- are read; BENCH_CERT_PATHS: download paths, "|"-separated; BENCH_UPLOADS: "cookie>document id" pairs,
-- "|"-separated (uploads go round the documents); BENCH_UPLOAD_FILE: the scan; BENCH_ORIGIN: the portal's origin.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local function split(text)
  local out = {}
  for item in string.gmatch(text or "", "[^|]+") do out[#out + 1] = item end
  return out
end

local list_path = os.getenv("BENCH_LIST_PATH")
local verify_path = os.getenv("BENCH_VERIFY_PATH")
local cookie = os.getenv("BENCH_COOKIE")
local cert_paths = split(os.getenv("BENCH_CERT_PATHS"))
local origin = os.getenv("BENCH_ORIGIN")
local uploads = {}
local owner_of = {}
for _, pair in ipairs(split(os.getenv("BENCH_UPLOADS"))) do
  local who, doc = string.match(pair, "^(.-)>(.+)$")
  uploads[#uploads + 1] = {cookie = who, doc = doc}
  owner_of[doc] = who
end
local file = io.open(os.getenv("BENCH_UPLOAD_FILE"), "rb")
local scan = file:read("*a")
file:close()

counts = {list = 0, verify = 0, download = 0, upload = 0, delete = 0}  -- global: read by done()
local pending = {}   -- deletes to send: {path, cookie}
local seen = {}      -- file ids already queued for deletion
local serial = 0

local function with_cookie(value)
  return {["Cookie"] = value}
end

request = function()
  if #pending > 0 then
    local job = table.remove(pending, 1)
    counts.delete = counts.delete + 1
    return wrk.format("DELETE", job.path, {["Cookie"] = job.cookie, ["Origin"] = origin})
  end
  local r = math.random(100)
  if r <= 70 then
    counts.list = counts.list + 1
    return wrk.format("GET", list_path, with_cookie(cookie))
  elseif r <= 90 then
    counts.verify = counts.verify + 1
    return wrk.format("GET", verify_path, {})
  elseif r <= 98 then
    counts.download = counts.download + 1
    return wrk.format("GET", cert_paths[math.random(#cert_paths)], with_cookie(cookie))
  end
  serial = serial + 1
  counts.upload = counts.upload + 1
  local target = uploads[(serial % #uploads) + 1]
  local path = string.format("/api/documents/%s/files/bench%07d%05d?name=scan.jpg", target.doc, serial,
                             math.random(99999))
  return wrk.format("PUT", path, {["Cookie"] = target.cookie, ["Origin"] = origin,
                                  ["Content-Type"] = "application/octet-stream"}, scan)
end

response = function(status, headers, body)
  count_status(status)
  if status == 201 and body then
    local doc = string.match(body, '^{"id":"([^"]+)","material"')
    if doc and owner_of[doc] then
      for fid in string.gmatch(body, '"id":"([^"]+)","name"') do
        if not seen[fid] then
          seen[fid] = true
          pending[#pending + 1] = {path = "/api/documents/" .. doc .. "/files/" .. fid, cookie = owner_of[doc]}
        end
      end
    end
  end
end

done = function(summary, latency, requests)
  report(summary, latency)
end
