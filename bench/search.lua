-- search.lua: wrk script of bench/search. The file named by the script's
-- first argument holds one URL path a line (already percent-encoded); the
-- second argument is wrk's thread count. Thread k sends lines k, k + T,
-- k + 2T, ... in turn, so no path is sent twice until the file is used up
-- (with one line, every request repeats it).
-- done() prints one line that bench/search reads:
--   WRKRESULT requests= req_s= p50_ms= p99_ms= non2xx= errors=
local threads = 0

function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

local paths = {}
local at, step

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  at = id
  step = tonumber(args[2])
end

function request()
  local p = paths[(at % #paths) + 1]
  at = at + step
  return wrk.format("GET", p)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKRESULT requests=%d req_s=%.1f p50_ms=%.2f p99_ms=%.2f non2xx=%d errors=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end
