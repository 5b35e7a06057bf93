-- POST /account/logout at a steady pace, each request ending one of the sessions logged in before
-- the run (so that no Argon2 hash is spent during it). BENCH_SESSIONS_FILE has one session per
-- line, "<access> <refresh>"; thread k of BENCH_THREADS takes lines k, k + N, k + 2N... (run
-- with -t N -c N: one connection per thread). BENCH_LOGOUTS_PER_SECOND is the total pace: each
-- thread keeps to a schedule of its own share, delay() waiting until its next slot; a thread
-- behind (a slow answer) sends at once until it is back on schedule, but forgets slots more
-- than CATCH_UP_MS old rather than bursting after a long stall. A thread out of sessions stops:
-- the achieved rate is what wrk reports, and the bench reports it.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local rate = tonumber(os.getenv("BENCH_LOGOUTS_PER_SECOND"))
local threads = tonumber(os.getenv("BENCH_THREADS"))
local interval = 1000 * threads / rate -- ms between two requests of one thread
CATCH_UP_MS = 1000 -- a thread behind its schedule sends at once, up to this far behind
local has_ffi, ffi = pcall(require, "ffi")
local now_ms = nil
if has_ffi then
   ffi.cdef [[
      typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
      int clock_gettime(int clock_id, bench_timespec *tp);
   ]]
   local ts = ffi.new("bench_timespec")
   now_ms = function()
      ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
      return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
   end
end

function init(args)
   failed = 0
   sessions, next_session = {}, 1
   local n = 0
   for line in io.lines(os.getenv("BENCH_SESSIONS_FILE")) do
      if n % threads == thread_id - 1 then
         local access, refresh = string.match(line, "(%S+)%s+(%S+)")
         table.insert(sessions, {access, refresh})
      end
      n = n + 1
   end
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

function delay()
   if now_ms == nil then
      return math.floor(interval) -- no clock: a fixed pause (the latency comes on top)
   end
   local now = now_ms()
   if slot == nil then
      slot = now -- the first slot: now
   else
      slot = slot + interval
   end
   if slot < now - CATCH_UP_MS then
      slot = now - CATCH_UP_MS
   end
   return math.max(0, math.floor(slot - now))
end

function request()
   local session = sessions[math.min(next_session, #sessions)]
   next_session = next_session + 1
   wrk.headers["Authorization"] = "Bearer " .. session[1]
   return wrk.format(nil, nil, nil, '{"refresh": "' .. session[2] .. '"}')
end

function response(status, headers, body)
   if status ~= 200 then
      failed = failed + 1
      if first_failure == nil then
         first_failure = status .. " " .. string.sub(body, 1, 120)
      end
   end
   if next_session > #sessions then
      wrk.thread:stop()
   end
end
