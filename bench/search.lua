-- search.lua: wrk script of bench/search. Each request is a path picked
-- at random from the file named by the script's argument (one URL path a
-- line, already percent-encoded); with one line, every request repeats it.
-- done() prints one line that bench/search reads:
--   WRKRESULT requests= req_s= p50_ms= p99_ms= non2xx= errors=
local paths = {}

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKRESULT requests=%d req_s=%.1f p50_ms=%.2f p99_ms=%.2f non2xx=%d errors=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end
