-- bench/proxy_wrk.lua: wrk script for proxy benchmarks.
-- Env: BENCH_PATH  request target ("/" for reverse proxies, "http://host:port/" for forward proxies)
--      BENCH_HOST  Host header (must agree with an absolute-form target)
--      BENCH_POST  "1" = POST a 1 KiB body instead of GET
-- Prints one line "RESULT <req/s> <p99 µs> <errors> <requests> <p50 µs>" when done.
local path = os.getenv("BENCH_PATH") or "/"
local host = os.getenv("BENCH_HOST")
wrk.path = path
if host and host ~= "" then wrk.headers["Host"] = host end
if os.getenv("BENCH_POST") == "1" then
  wrk.method = "POST"
  wrk.body = string.rep("x", 1024)
  wrk.headers["Content-Type"] = "application/octet-stream"
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  local errs = e.connect + e.read + e.write + e.status + e.timeout
  io.write(string.format("RESULT %.1f %.1f %d %d %.1f\n", summary.requests / secs,
                         latency:percentile(99), errs, summary.requests,
                         latency:percentile(50)))
end
