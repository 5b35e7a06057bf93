-- PUT /items/bench-<thread>: each wrk thread rewrites its own item (created by its first PUT).
-- Credentials (Bearer, or cookie + X-CSRF-Token) come as -H headers.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

function init(args)
   wrk.method = "PUT"
   wrk.path = "/items/bench-" .. thread_id
   wrk.headers["Content-Type"] = "application/json"
   wrk.body = '{"name": "bench item", "size": ' .. thread_id .. '}'
end
