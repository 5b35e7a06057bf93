-- POST <path> (/account/login or /login) as a random one of the BENCH_USERS seeded users
-- (user1 .. userN, all with the password BENCH_PASSWORD).
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local users = tonumber(os.getenv("BENCH_USERS"))
local password = os.getenv("BENCH_PASSWORD")

function init(args)
   math.randomseed(os.time() * 1000 + thread_id)
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   local body = '{"username": "user' .. math.random(1, users) ..
      '", "password": "' .. password .. '"}'
   return wrk.format(nil, nil, nil, body)
end
