"""What is measured: one wrk load per scenario, with fresh credentials for every run."""

import dataclasses
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench import client, wrk
from bench.seed import PASSWORD
from bench.servers import Server

REFRESH_CHAINS = 16  # concurrent refresh chains: one session, one wrk thread, one connection each
MIXED_CONNECTIONS = 8  # mixed writes: refresh chains, and PUT connections beside them
LOGOUTS_PER_SECOND = 50  # the pace of the log-outs behind me_under_logouts
# One wrk thread each, each at an eighth of the pace. A connection has one log-out in flight,
# so the pace holds while a log-out answers within 160 ms; with 4 (80 ms) one worker on a slow
# machine, its loop queued behind /me's 64 connections, reached only 36-40 log-outs/s.
LOGOUT_CONNECTIONS = 8


@dataclass
class Bench:
    """Everything a scenario needs to build its load."""

    wrk: str
    authgate: Server
    bare: Server
    seconds: float  # of the run being built (measure() sets it: warm-up or run)
    users: int
    run_id: str
    tokens: bool = False  # the token routes (/account/login, /account/refresh...) are served
    work: Path = Path("/tmp")  # for files the loads read (the sessions to log out)

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

    def sessions_file(self, count: int) -> Path:
        """`count` fresh token sessions (users 2.., never user1's own), one "<access> <refresh>"
        a line, logged in in parallel: each log-in costs an Argon2 hash, spent before the run."""
        users = max(self.users - 1, 1)

        def one(n: int) -> str:
            username = f"user{2 + n % users}"
            return " ".join(client.token_login(self.authgate.port, username, PASSWORD))

        with ThreadPoolExecutor(2 * (os.cpu_count() or 1)) as pool:
            lines = list(pool.map(one, range(count)))
        self.work.mkdir(parents=True, exist_ok=True)
        path = self.work / f"sessions-{self.run_id}-{time.monotonic_ns()}.txt"
        path.write_text("\n".join(lines) + "\n")
        return path


@dataclass(frozen=True)
class Companion:
    """A scenario's background load whose own result is a row too, under `key`."""

    key: str
    label: str
    # Started with the foreground, for the same seconds (two loads measured side by side);
    # otherwise it starts a second early and ends a second late, as any background.
    together: bool = False


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
    # When set, the background's result is recorded as a row of its own (no baseline).
    companion: Companion | None = None


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


def item_put(b: Bench, connections: int = 64) -> wrk.Load:
    """A JSON body, with a Bearer token when the token routes are served (else cookie + CSRF)."""
    headers = (b.bearer(),) if b.tokens else b.cookie()
    return wrk.Load(f"{b.authgate.url}/items", "put_item.lua", headers, connections=connections)


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


def mixed_put(b: Bench) -> wrk.Load:
    return item_put(b, connections=MIXED_CONNECTIONS)


def mixed_refresh(b: Bench) -> wrk.Load:
    return refresh(b, chains=MIXED_CONNECTIONS)


def logouts(b: Bench) -> wrk.Load:
    """POST /account/logout at LOGOUTS_PER_SECOND, over sessions logged in beforehand: enough
    for the background's seconds (the run's, plus one before and one after), and a quarter more."""
    count = round(LOGOUTS_PER_SECOND * (b.seconds + 2) * 1.25) + LOGOUT_CONNECTIONS
    env = (
        ("BENCH_SESSIONS_FILE", str(b.sessions_file(count))),
        ("BENCH_LOGOUTS_PER_SECOND", str(LOGOUTS_PER_SECOND)),
        ("BENCH_THREADS", str(LOGOUT_CONNECTIONS)),
    )
    url = f"{b.authgate.url}/account/logout"
    conns = LOGOUT_CONNECTIONS
    return wrk.Load(url, "logout.lua", env=env, connections=conns, threads=conns)


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
        Scenario("item_put", f"PUT /items/{{id}} ({write}, JSON body)", item_put),
        Scenario("login", f"POST {'/account/login' if b.tokens else '/login'}", login, "hash"),
        Scenario("signup", "POST /signup", signup, "hash"),
    ]
    if b.tokens:
        found.append(Scenario("refresh", "POST /account/refresh (rotating chains)", refresh))
    label = "GET /health while log-ins saturate the CPUs"
    found.append(Scenario("trivial", label, trivial, None, login))
    if b.tokens:
        n = MIXED_CONNECTIONS
        beside = Companion(
            "mixed_writes_refresh", f"mixed writes: POST /account/refresh ({n} chains)", True
        )
        label = f"mixed writes: PUT /items/{{id}} (Bearer, {n} conn.) beside the refreshes"
        found.append(Scenario("mixed_writes", label, mixed_put, None, mixed_refresh, beside))
        behind = Companion(
            "logouts", f"POST /account/logout behind it (paced at {LOGOUTS_PER_SECOND}/s)"
        )
        label = f"GET /account/me, Bearer, while ~{LOGOUTS_PER_SECOND} log-outs/s run"
        found.append(Scenario("me_under_logouts", label, me_bearer, "bare", logouts, behind))
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


def measure(
    b: Bench, scenario: Scenario, seconds: float
) -> tuple[list[wrk.Load], list[wrk.Result]]:
    """Run `scenario` for `seconds`: its load and result, then its background load's if any."""
    b = dataclasses.replace(b, seconds=seconds)
    load = scenario.build(b)
    if scenario.background is None:
        # Server CPU per request: unlike req/s, it hardly moves with the machine's other load.
        server = b.bare if load.url.startswith(b.bare.url) else b.authgate
        cpu = server.cpu_seconds()
        result = wrk.run(b.wrk, load, seconds)
        cpu_us = (server.cpu_seconds() - cpu) / max(result.requests, 1) * 1e6
        return [load], [dataclasses.replace(result, cpu_us=cpu_us)]
    background = scenario.background(b)
    if scenario.companion is not None and scenario.companion.together:
        behind = wrk.start(b.wrk, background, seconds)
        front = wrk.run(b.wrk, load, seconds)
        return [load, background], [front, wrk.finish(behind, seconds)]
    # The background starts a second early and ends a second late, so that the foreground
    # run sees the server saturated from its first request to its last.
    behind = wrk.start(b.wrk, background, seconds + 2)
    time.sleep(1)
    front = wrk.run(b.wrk, load, seconds)
    return [load, background], [front, wrk.finish(behind, seconds + 2)]
