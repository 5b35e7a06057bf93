"""What is measured: one wrk load per scenario, with fresh credentials for every run."""

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench import client, wrk
from bench.seed import PASSWORD
from bench.servers import Server

REFRESH_CHAINS = 16  # concurrent refresh chains: one session, one wrk thread, one connection each


@dataclass
class Bench:
    """Everything a scenario needs to build its load."""

    wrk: str
    authgate: Server
    bare: Server
    seconds: float
    users: int
    run_id: str
    tokens: bool = False  # the token routes (/account/login, /account/refresh...) are served

    def bearer(self) -> str:
        access, _ = client.token_login(self.authgate.port, "user1", PASSWORD)
        return f"Authorization: Bearer {access}"

    def cookie(self) -> tuple[str, ...]:
        headers = client.cookie_login(self.authgate.port, "user1", PASSWORD)
        return tuple(f"{name}: {value}" for name, value in headers.items())

    def refresh_tokens(self, count: int) -> str:
        return " ".join(
            client.token_login(self.authgate.port, f"user{1 + n % self.users}", PASSWORD)[1]
            for n in range(count)
        )


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    build: Callable[[Bench], wrk.Load]
    # What its ratio is taken against, measured right before it (the machine's load drifts):
    # "bare" (a run of the bare ceiling), "hash" (the in-process hash-bound limit) or None.
    baseline: str | None = "bare"
    # A load run at the same time (started first, stopped last): this scenario measures the
    # foreground load while the background one keeps the server busy.
    background: Callable[[Bench], wrk.Load] | None = None


def bare_hello(b: Bench) -> wrk.Load:
    return wrk.Load(f"{b.bare.url}/hello")


def health(b: Bench) -> wrk.Load:
    return wrk.Load(f"{b.authgate.url}/health")


def me_bearer(b: Bench) -> wrk.Load:
    return wrk.Load(f"{b.authgate.url}/account/me", headers=(b.bearer(),))


def me_cookie(b: Bench) -> wrk.Load:
    return wrk.Load(f"{b.authgate.url}/account/me", headers=b.cookie())


def item_get(b: Bench) -> wrk.Load:
    return wrk.Load(f"{b.authgate.url}/items/bench-item")


def item_put(b: Bench) -> wrk.Load:
    headers = (b.bearer(),) if b.tokens else b.cookie()
    return wrk.Load(f"{b.authgate.url}/items", "put_item.lua", headers)


def login(b: Bench, connections: int = 16) -> wrk.Load:
    path = "/account/login" if b.tokens else "/login"
    env = (("BENCH_USERS", str(b.users)), ("BENCH_PASSWORD", PASSWORD))
    return wrk.Load(f"{b.authgate.url}{path}", "login.lua", env=env, connections=connections)


def signup(b: Bench) -> wrk.Load:
    env = (("BENCH_RUN", f"{b.run_id}{time.monotonic_ns() % 10**9}"), ("BENCH_PASSWORD", PASSWORD))
    return wrk.Load(f"{b.authgate.url}/signup", "signup.lua", env=env, connections=16)


def refresh(b: Bench, chains: int = REFRESH_CHAINS) -> wrk.Load:
    env = (("BENCH_REFRESH_TOKENS", b.refresh_tokens(chains)),)
    url = f"{b.authgate.url}/account/refresh"
    return wrk.Load(url, "refresh.lua", env=env, connections=chains, threads=chains)


def trivial(b: Bench) -> wrk.Load:
    return wrk.Load(f"{b.authgate.url}/health", connections=4, threads=1)


def login_latency(b: Bench) -> wrk.Load:
    return login(b, connections=1)


def refresh_latency(b: Bench) -> wrk.Load:
    return refresh(b, chains=1)


def throughput_scenarios(b: Bench) -> list[Scenario]:
    """The scenarios of one repetition (each preceded by its baseline's run)."""
    write = "Bearer" if b.tokens else "cookie + CSRF"
    found = [Scenario("health", "GET /health (authgate's stack, no auth)", health)]
    if b.tokens:
        found += [
            Scenario("me_bearer", "GET /account/me, Bearer", me_bearer),
            Scenario("me_cookie", "GET /account/me, session cookie", me_cookie),
        ]
    found += [
        Scenario("item_get", "GET /items/{id} (public)", item_get),
        Scenario("item_put", f"PUT /items/{{id}} ({write})", item_put),
        Scenario("login", f"POST {'/account/login' if b.tokens else '/login'}", login, "hash"),
        Scenario("signup", "POST /signup", signup, "hash"),
    ]
    if b.tokens:
        found.append(Scenario("refresh", "POST /account/refresh (rotating chains)", refresh))
    label = "GET /health while log-ins saturate the CPUs"
    found.append(Scenario("trivial", label, trivial, None, login))
    return found


def latency_scenarios(b: Bench, size: str) -> list[Scenario]:
    """Log-in and refresh one at a time, with `b.users` users on file (`size`: small|large)."""
    users = f"{b.users:,} users"
    label = f"log-in latency, {users} (1 connection)"
    found = [Scenario(f"login_{size}", label, login_latency, None)]
    if b.tokens:
        label = f"refresh latency, {users} (1 connection)"
        found.append(Scenario(f"refresh_{size}", label, refresh_latency, None))
    return found


BARE = Scenario("bare", "bare FastAPI GET /hello (ceiling)", bare_hello, None)


def measure(b: Bench, scenario: Scenario, seconds: float) -> tuple[wrk.Load, list[wrk.Result]]:
    """Run `scenario` for `seconds`: its load, its result, then its background load's if any."""
    load = scenario.build(b)
    if scenario.background is None:
        # Server CPU per request: unlike req/s, it hardly moves with the machine's other load.
        server = b.bare if load.url.startswith(b.bare.url) else b.authgate
        cpu = server.cpu_seconds()
        result = wrk.run(b.wrk, load, seconds)
        cpu_us = (server.cpu_seconds() - cpu) / max(result.requests, 1) * 1e6
        return load, [dataclasses.replace(result, cpu_us=cpu_us)]
    # The background starts a second early and ends a second late, so that the foreground
    # run sees the server saturated from its first request to its last.
    behind = wrk.start(b.wrk, scenario.background(b), seconds + 2)
    time.sleep(1)
    front = wrk.run(b.wrk, load, seconds)
    return load, [front, wrk.finish(behind, seconds + 2)]
