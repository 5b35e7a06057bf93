-- GET of the URL given to wrk; credentials come as -H headers. The request is static.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
