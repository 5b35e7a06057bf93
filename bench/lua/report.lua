-- Shared by every scenario: numbers each thread, then prints one JSON line that the bench parses.
-- A scenario script loads this first (dofile) and may define bench_setup(thread) for its own
-- per-thread set-up and count statuses itself in response() (then failed is per thread).

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("thread_id", counter)
   table.insert(threads, thread)
   if type(bench_setup) == "function" then
      bench_setup(thread)
   end
end

function done(summary, latency, requests)
   local failed, first_failure = 0, ""
   for _, thread in ipairs(threads) do
      failed = failed + (thread:get("failed") or 0)
      if first_failure == "" then
         first_failure = thread:get("first_failure") or ""
      end
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
      '"non2xx": %d, "failed": %d, "first_failure": "%s", ' ..
      '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, ' ..
      '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
      summary.requests, summary.duration, summary.bytes,
      e.status, failed, (first_failure:gsub('[^%w%s%._:-]', '')),
      e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean))
end
