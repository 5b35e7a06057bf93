-- POST /signup with a fresh username every time: s<run>t<thread>n<counter>.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local run = os.getenv("BENCH_RUN")
local password = os.getenv("BENCH_PASSWORD")
local n = 0

function init(args)
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   n = n + 1
   local body = '{"username": "s' .. run .. 't' .. thread_id .. 'n' .. n ..
      '", "password": "' .. password .. '"}'
   return wrk.format(nil, nil, nil, body)
end
