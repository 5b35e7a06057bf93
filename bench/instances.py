"""`python -m bench.instances`: two instances on one PostgreSQL, as two hosts would run them.

Measures what the "several instances" contract promises: how long a log-out answered by
instance A takes to be refused by instance B (the change feed's reach, p50/p99 over many
log-outs), and Bearer `GET /account/me` on each instance against the bare endpoint with the
feed on. Each instance has its own data folder; the database is made for the run and dropped.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench import client, tools, wrk
from bench.databases import Target
from bench.servers import authgate_server, bare_server

PASSWORD = "bench-correct-horse-battery"


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.instances", description=__doc__)
    parser.add_argument("--logouts", type=int, default=200, help="log-outs timed (default 200)")
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run")
    parser.add_argument("--repeat", type=int, default=3, help="wrk repetitions (medians)")
    parser.add_argument("--redis", help="a Redis URL: changes travel through it instead")
    return parser.parse_args()


def reach(a: int, b: int, count: int) -> list[float]:
    """Seconds from each log-out's answer on A to the first 401 for its token on B."""
    taken = []
    for _ in range(count):
        access, refresh = client.token_login(a, "reach", PASSWORD)
        bearer = {"Authorization": f"Bearer {access}"}
        status, _, data = client.call(b, "GET", "/account/me", headers=bearer)
        client.expect(status, 200, "GET /account/me on B", data)
        status, _, data = client.call(a, "POST", "/account/logout", {"refresh": refresh}, bearer)
        client.expect(status, 200, "A logout", data)
        answered = time.perf_counter()
        while client.call(b, "GET", "/account/me", headers=bearer)[0] != 401:
            if time.perf_counter() - answered > 5:
                raise SystemExit("bench: B still accepts a token logged out 5 s ago")
        taken.append(time.perf_counter() - answered)
    return taken


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    options = parse()
    binary = tools.ensure_wrk()
    work = Path(tempfile.mkdtemp(prefix="authgate-instances-"))
    target = Target("postgresql", work / "db")
    target.create()
    servers = []
    try:
        env = {**target.server_env(), "AUTHGATE_RATE_LIMIT_ENABLED": "false"}
        if options.redis:
            env["AUTHGATE_REDIS_URL"] = options.redis
        for name in ("a", "b"):
            folder = work / name
            folder.mkdir()
            server = authgate_server(1, {**env, "AUTHGATE_DATA_DIR": str(folder)}, folder / "log")
            server.start(1, "/ready")
            servers.append(server)
        bare = bare_server(1, work / "bare.log")
        bare.start(1, "/hello")
        servers.append(bare)
        a, b = servers[0], servers[1]
        status, _, data = client.call(
            a.port, "POST", "/account/create-account", {"username": "reach", "password": PASSWORD}
        )
        client.expect(status, 201, "create-account", data)
        taken = reach(a.port, b.port, options.logouts)
        print(f"revocation reach over {len(taken)} log-outs (A answered → B refuses): "
              f"p50 {percentile(taken, 0.5) * 1000:.2f} ms, "
              f"p99 {percentile(taken, 0.99) * 1000:.2f} ms, "
              f"max {max(taken) * 1000:.2f} ms")  # fmt: skip
        ratios: dict[str, list[float]] = {"A": [], "B": []}
        for _ in range(options.repeat):
            ceiling = wrk.run(binary, wrk.Load(f"{bare.url}/hello"), options.duration).rps
            for name, server in (("A", a), ("B", b)):
                access, _ = client.token_login(server.port, "reach", PASSWORD)
                load = wrk.Load(f"{server.url}/account/me",
                                headers=(f"Authorization: Bearer {access}",))  # fmt: skip
                result = wrk.run(binary, load, options.duration)
                if not result.ok:
                    raise SystemExit(f"bench: non-2xx on {name}: {result.first_failure}")
                ratios[name].append(result.rps / ceiling)
        for name, values in ratios.items():
            each = ", ".join(f"{v:.3f}" for v in values)
            median = statistics.median(values)
            print(f"Bearer GET /account/me on {name}: {median:.3f}× bare (runs: {each})")
    finally:
        for server in servers:
            server.stop()
        target.drop()


if __name__ == "__main__":
    main()
