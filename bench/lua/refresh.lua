-- POST /account/refresh with rotation on: every refresh token is single-use, and replaying one
-- ends its session. So each wrk thread drives exactly one connection (run with -t N -c N) and
-- one session of its own, from BENCH_REFRESH_TOKENS (space-separated, one per thread), and
-- sends next the token that the previous response returned. The first non-200 breaks the
-- chain: it is counted in "failed" and the thread stops, so no failure passes for throughput.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local tokens = {}
for token in string.gmatch(os.getenv("BENCH_REFRESH_TOKENS") or "", "%S+") do
   table.insert(tokens, token)
end

function bench_setup(thread)
   thread:set("refresh", tokens[thread:get("thread_id")])
end

function init(args)
   failed = 0
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   return wrk.format(nil, nil, nil, '{"refresh": "' .. refresh .. '"}')
end

function response(status, headers, body)
   local token = status == 200 and string.match(body, '"refresh"%s*:%s*"([^"]+)"')
   if token then
      refresh = token
   else
      failed = failed + 1
      if first_failure == nil then
         first_failure = status .. " " .. string.sub(body, 1, 120)
      end
      wrk.thread:stop()
   end
end
