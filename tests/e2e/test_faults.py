"""Faults done for real, on real `authgate serve` processes: Redis stopped and restarted, the
change feed's PostgreSQL connection terminated, a PostgreSQL server stopped and started, a
SIGKILL under sign-up load, a SIGTERM with log-ins in flight.

Each test checks what it sees while the fault is active, not only that the service comes back.
Traffic goes to 127.0.0.1 only; the only processes stopped are the ones the test started.
"""

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator

import asyncpg
import httpx
import pytest

from authgate.feeds import CHANNEL
from authgate.redisfeed import AUDITOR_NAME
from tests.e2e.cluster import (
    PG_DSN,
    PostgresCluster,
    TcpProxy,
    established_to,
    get,
    listener_pids,
    post,
    postgres_cluster,
    redis_subscribers,
    within,
)
from tests.e2e.served import Server
from tests.helpers import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
REACH = 1.0  # seconds: the contract's bound for a change to reach every instance
WRONG = "not-the-right-password"
FIGURES: dict[str, str] = {}  # what the tests measured, printed at the end of the session


def report(name: str, value: str) -> None:
    FIGURES[name] = value
    print(f"\n[faults] {name}: {value}")


def credentials(username: str, password: str = PASSWORD) -> dict[str, str]:
    return {"username": username, "password": password}


def bearer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access']}"}


def sign_up(server: Server, username: str) -> None:
    created = post(server, "/account/create-account",
                   json={"username": username, "password": PASSWORD})  # fmt: skip
    assert created.status_code == 201, created.text


def log_in(server: Server, username: str) -> dict[str, str]:
    response = post(server, "/account/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()


def log_out(server: Server, tokens: dict[str, str]) -> None:
    response = post(server, "/account/logout", headers=bearer(tokens),
                    json={"refresh": tokens["refresh"]})  # fmt: skip
    assert response.status_code == 200, response.text


def refused_on(server: Server, tokens: dict[str, str]) -> Callable[[], bool]:
    def check() -> bool:
        response = get(server, "/account/me", headers=bearer(tokens))
        assert response.status_code in (200, 401), response.text
        return response.status_code == 401 and response.json()["code"] == "token_revoked"

    return check


def honoured_at_once(a: Server, b: Server, username: str) -> float:
    """A session cached on B, logged out on A: how long until B refuses it (at most REACH)."""
    tokens = log_in(a, username)
    assert get(b, "/account/me", headers=bearer(tokens)).status_code == 200
    log_out(a, tokens)
    took = within(REACH, refused_on(b, tokens))
    assert refused_on(b, tokens)()  # and it stays refused
    return took


def readiness(server: Server) -> tuple[int, dict[str, str]]:
    response = get(server, "/ready")
    return response.status_code, response.json()


def terminate_backend(pid: int) -> None:
    async def run() -> None:
        connection = await asyncpg.connect(PG_DSN, timeout=5)
        try:
            assert await connection.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await connection.close()

    asyncio.run(run())


# --- 1. Redis stopped and restarted ---------------------------------------------------------

LIMITED = {
    "AUTHGATE_RATE_LIMIT_ENABLED": "true",
    "AUTHGATE_RATE_LIMIT_LOGIN": "3/minute",  # failures per username
    "AUTHGATE_RATE_LIMIT_LOGIN_IP": "1000/minute",
    "AUTHGATE_RATE_LIMIT_SIGNUP": "1000/hour",
}
SHARED_RETRY = 2.5  # > ratelimit.SHARED_RETRY: a limiter that saw Redis fail tries it again


@pytest.mark.redis
def test_redis_stopped_and_restarted(pg_database, own_redis, instances):  # type: ignore[no-untyped-def]
    a = instances(pg_database, redis_url=own_redis.url, env=LIMITED)
    b = instances(pg_database, redis_url=own_redis.url, env=LIMITED)
    within(10, lambda: redis_subscribers(own_redis.url, CHANNEL) == 2, every=0.1)
    for server in (a, b):
        assert readiness(server) == (200, {"database": "ok", "redis": "ok"})
    sign_up(a, "alice")
    sign_up(a, "mallory")
    honoured_at_once(a, b, "alice")
    tokens = log_in(a, "alice")
    assert get(b, "/account/me", headers=bearer(tokens)).status_code == 200  # cached on B

    own_redis.stop()
    # B's cache cannot hear of this log-out (Redis is gone): B must ask the database.
    log_out(a, tokens)
    took = within(REACH, refused_on(b, tokens))
    report("redis down: log-out on A refused on B after", f"{took:.3f}s")

    # While Redis is down: sign-ups, right and wrong log-ins on both, never an error.
    statuses: dict[str, set[int]] = {"signup": set(), "right": set(), "wrong": set()}
    deadline = time.monotonic() + 3
    for round_ in range(40):
        if time.monotonic() > deadline:
            break
        for index, server in enumerate((a, b)):
            name = f"down-{round_}-{index}"
            response = post(server, "/account/create-account", json=credentials(name))
            statuses["signup"].add(response.status_code)
            right = post(server, "/account/login", json=credentials(name))
            statuses["right"].add(right.status_code)
            wrong = post(server, "/account/login", json=credentials("mallory", WRONG))
            statuses["wrong"].add(wrong.status_code)
    assert statuses["signup"] == {201}, statuses
    assert statuses["right"] == {200}, statuses
    assert statuses["wrong"] <= {401, 429} and 429 in statuses["wrong"], statuses
    # Counted per instance meanwhile: 3 failures on one instance, then 429 there.
    sign_up(a, "bob")
    for _ in range(3):
        assert post(a, "/account/login",
                    json={"username": "bob", "password": WRONG}).status_code == 401  # fmt: skip
    refused = post(a, "/account/login", json={"username": "bob", "password": PASSWORD})
    assert refused.status_code == 429 and "Retry-After" in refused.headers, refused.text
    for server in (a, b):
        assert readiness(server) == (200, {"database": "ok", "redis": "error"})
    assert redis_subscribers(own_redis.url, CHANNEL) == -1
    last_local = time.monotonic()
    assert "change feed lost" in b.log.read_text(errors="replace")

    own_redis.start()  # the same port
    restarted = time.monotonic()
    ready = {}
    for server, name in ((a, "A"), (b, "B")):
        within(10, lambda server=server: readiness(server)[1]["redis"] == "ok", every=0.05)
        ready[name] = time.monotonic() - restarted
    within(10, lambda: redis_subscribers(own_redis.url, CHANNEL) == 2, every=0.05)
    subscribed = time.monotonic() - restarted
    report("redis restart -> /ready redis ok", f"A {ready['A']:.2f}s, B {ready['B']:.2f}s")
    report("redis restart -> both feeds subscribed again", f"{subscribed:.2f}s")
    # B's cache is trusted again, and a revocation on A reaches it through Redis.
    took = honoured_at_once(a, b, "alice")
    report("after recovery: log-out on A refused on B after", f"{took:.3f}s")

    # Counted across both again: failures on A and B add up for one username.
    time.sleep(max(0.0, last_local + SHARED_RETRY - time.monotonic()))
    sign_up(b, "carol")
    for server in (a, b, a):
        response = post(server, "/account/login", json={"username": "carol", "password": WRONG})
        assert response.status_code == 401, response.text
    for server in (b, a):
        response = post(server, "/account/login", json={"username": "carol", "password": PASSWORD})
        assert response.status_code == 429, response.text


def cached_on_b(a: Server, b: Server, redis_url: str, username: str) -> dict[str, str]:
    """Both instances subscribed, a first log-out seen to reach B, then a session of
    `username` logged in on A and cached on B: its tokens."""
    within(10, lambda: redis_subscribers(redis_url, CHANNEL) == 2, every=0.1)
    sign_up(a, username)
    honoured_at_once(a, b, username)
    tokens = log_in(a, username)
    assert get(b, "/account/me", headers=bearer(tokens)).status_code == 200  # cached on B
    return tokens


@pytest.mark.redis
def test_a_blip_on_the_redis_connection_of_b(pg_database, own_redis, instances):  # type: ignore[no-untyped-def]
    """B reaches Redis through a relay that drops its connections and is slow to let B back
    in: a change published meanwhile never reaches B's listener, so B must not trust what
    it cached before the blip once it listens again."""
    relay = TcpProxy(own_redis.port)
    try:
        a = instances(pg_database, redis_url=own_redis.url)
        b = instances(pg_database, redis_url=relay.url())
        tokens = cached_on_b(a, b, own_redis.url, "alice")
        relay.cut(hold=0.3)
        log_out(a, tokens)  # published while B is not subscribed
        assert redis_subscribers(own_redis.url, CHANNEL) == 1
        within(5, lambda: redis_subscribers(own_redis.url, CHANNEL) == 2, every=0.02)
        time.sleep(0.5)  # B listens again, and proves it
        assert refused_on(b, tokens)(), "B trusted a cache that missed a log-out"
        honoured_at_once(a, b, "alice")
    finally:
        relay.close()


@pytest.mark.redis
def test_a_change_that_a_could_not_publish(pg_database, own_redis, instances):  # type: ignore[no-untyped-def]
    """A reaches Redis through a relay that drops its connections and holds new ones: A
    commits a log-out that it cannot publish, while B listens to Redis undisturbed. B never
    hears of that log-out through Redis, so it must learn from the database that a change it
    did not hear was made, and stop trusting what it cached, within the contract's bound."""
    relay = TcpProxy(own_redis.port)
    try:
        a = instances(pg_database, redis_url=relay.url())
        b = instances(pg_database, redis_url=own_redis.url)
        tokens = cached_on_b(a, b, own_redis.url, "erin")
        relay.cut(hold=5)
        log_out(a, tokens)  # committed; its publication times out
        answered = time.perf_counter()
        assert redis_subscribers(own_redis.url, CHANNEL) == 1  # B still listens, healthy
        took = within(REACH, refused_on(b, tokens))
        report("a log-out A could not publish, refused on B after", f"{took * 1000:.0f} ms")
        assert time.perf_counter() - answered <= REACH + 0.2
        assert refused_on(b, tokens)()
    finally:
        relay.close()


@pytest.mark.redis
def test_the_number_reader_of_b_terminated(pg_database, own_redis, instances):  # type: ignore[no-untyped-def]
    """B's connection that reads the change numbers is terminated: B reconnects its feed at
    once, and log-outs reach it again."""
    a = instances(pg_database, redis_url=own_redis.url)
    of_a = set(asyncio.run(listener_pids(pg_database, AUDITOR_NAME)))
    b = instances(pg_database, redis_url=own_redis.url)
    (old,) = set(asyncio.run(listener_pids(pg_database, AUDITOR_NAME))) - of_a
    sign_up(a, "frank")
    honoured_at_once(a, b, "frank")
    terminate_backend(old)
    terminated = time.monotonic()

    def reconnected() -> bool:
        return len(set(asyncio.run(listener_pids(pg_database, AUDITOR_NAME))) - of_a) == 1

    within(10, reconnected, every=0.02)
    report("number reader terminated -> a new one", f"{time.monotonic() - terminated:.2f}s")
    assert old not in asyncio.run(listener_pids(pg_database, AUDITOR_NAME))
    assert time.monotonic() - terminated < 1.5
    honoured_at_once(a, b, "frank")
    assert readiness(b)[0] == 200


# --- 2. The listening connection of B terminated --------------------------------------------


def test_the_listener_of_b_terminated(pg_database, instances):  # type: ignore[no-untyped-def]
    a = instances(pg_database)
    of_a = set(asyncio.run(listener_pids(pg_database)))
    b = instances(pg_database)
    of_b = set(asyncio.run(listener_pids(pg_database))) - of_a
    assert len(of_a) == 1 and len(of_b) == 1, (of_a, of_b)
    sign_up(a, "alice")
    honoured_at_once(a, b, "alice")
    times = []
    for _ in range(5):  # more than the reconnection back-off has steps
        tokens = log_in(a, "alice")
        assert get(b, "/account/me", headers=bearer(tokens)).status_code == 200  # cached on B
        (old,) = of_b
        terminate_backend(old)
        terminated = time.monotonic()
        log_out(a, tokens)  # its notification cannot reach B's listener: it is gone
        within(REACH, refused_on(b, tokens))
        assert time.monotonic() - terminated < REACH + 0.5

        def reconnected(old: int = old) -> bool:
            nonlocal of_b
            of_b = set(asyncio.run(listener_pids(pg_database))) - of_a - {old}
            return len(of_b) == 1

        within(10, reconnected, every=0.02)
        times.append(time.monotonic() - terminated)
        assert set(asyncio.run(listener_pids(pg_database))) >= of_a  # A's was left alone
        honoured_at_once(a, b, "alice")  # and the feed carries changes again
    report("listener terminated -> new listener pid", ", ".join(f"{t:.2f}s" for t in times))
    # Each loss follows a connection that was up: the back-off starts again from its first
    # step (0.1 s), not where the previous losses left it (up to 2 s without a cache).
    assert max(times) < 1.0, times


# --- 3. A real PostgreSQL restart -----------------------------------------------------------


@pytest.fixture
def own_postgres() -> Iterator[PostgresCluster]:
    with postgres_cluster() as cluster:
        yield cluster


def test_a_postgres_restart(own_postgres, instances):  # type: ignore[no-untyped-def]
    asyncio.run(own_postgres.execute('CREATE DATABASE "authgate"'))
    url = own_postgres.url("authgate")
    a = instances(url)
    b = instances(url)
    sign_up(a, "alice")
    tokens = log_in(a, "alice")
    with httpx.Client(base_url=a.url, timeout=30) as client:
        first = client.get("/account/me", headers=bearer(tokens))
        assert first.status_code == 200
        address = first.extensions["network_stream"].get_extra_info("client_addr")
        ports = {address[1]}

        def seen(response: httpx.Response) -> httpx.Response:
            ports.add(response.extensions["network_stream"].get_extra_info("client_addr")[1])
            assert response.headers.get("connection", "").lower() != "close"
            return response

        own_postgres.stop("fast")
        stopped = time.monotonic()
        slowest = 0.0
        requests: list[tuple[str, str, dict]] = [
            ("POST", "/account/login", {"json": {"username": "alice", "password": PASSWORD}}),
            ("POST", "/account/create-account",
             {"json": {"username": "bob", "password": PASSWORD}}),
            ("GET", "/account/me", {"headers": bearer(tokens)}),
            ("POST", "/account/refresh", {"json": {"refresh": tokens["refresh"]}}),
        ]  # fmt: skip
        for _ in range(2):
            for method, path, kwargs in requests:
                started = time.monotonic()
                response = seen(client.request(method, path, **kwargs))
                slowest = max(slowest, time.monotonic() - started)
                assert response.status_code == 503, (path, response.text)
                assert response.json()["code"] == "service_unavailable", response.text
            assert seen(client.get("/health")).status_code == 200
            response = seen(client.get("/ready"))
            assert response.status_code == 503
            assert response.json() == {"database": "error", "redis": "disabled"}
        for server in (a, b):  # the other instance too, on its own
            assert get(server, "/account/me", headers=bearer(tokens)).status_code == 503
            assert readiness(server)[0] == 503
        assert slowest < 5.0, slowest
        report("postgres down: slowest 503", f"{slowest:.2f}s")
        assert time.monotonic() - stopped < 60

        starting = time.monotonic()
        own_postgres.start()  # pg_ctl start -w: returns once the server accepts connections
        restarted = time.monotonic()
        report("postgres: pg_ctl start -w took", f"{restarted - starting:.2f}s")

        def recovered() -> bool:
            response = seen(client.post("/account/login", json=credentials("alice")))
            assert response.status_code in (200, 503), response.text
            return response.status_code == 200

        within(20, recovered, every=0.1)
        login = time.monotonic() - restarted
        within(20, lambda: seen(client.get("/ready")).status_code == 200, every=0.1)
        ready = time.monotonic() - restarted
        report("postgres restart -> log-in works on A, /ready 200",
               f"{login:.2f}s, {ready:.2f}s")  # fmt: skip
        assert seen(client.get("/account/me", headers=bearer(tokens))).status_code == 200
        assert len(ports) == 1, f"the keep-alive connection was not kept: ports {ports}"
    within(20, lambda: readiness(b)[0] == 200, every=0.1)
    assert log_in(b, "alice")
    # The feed came back too: a log-out on A reaches B's cache again.
    within(10, lambda: len(asyncio.run(_listeners(own_postgres))) == 2, every=0.1)
    report("postgres restart -> both feeds listening", f"{time.monotonic() - restarted:.2f}s")
    honoured_at_once(a, b, "alice")


async def _listeners(cluster: PostgresCluster) -> list[int]:
    connection = await asyncpg.connect(cluster.dsn(), timeout=5)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'authgate-change-feed'"
        )
        return [row["pid"] for row in rows]
    finally:
        await connection.close()


# --- 4. SIGKILL under sign-up load ----------------------------------------------------------


def test_sigkill_under_sign_up_load(pg_database, instances):  # type: ignore[no-untyped-def]
    a = instances(pg_database)
    b = instances(pg_database)
    acknowledged: list[str] = []
    lost: list[str] = []
    stop = threading.Event()

    def sign_up_continuously(worker: int) -> None:
        with httpx.Client(base_url=a.url, timeout=10) as client:
            for index in range(10_000):
                if stop.is_set():
                    return
                name = f"load-{worker}-{index}"
                try:
                    response = client.post("/account/create-account", json=credentials(name))
                except httpx.HTTPError:
                    lost.append(name)
                    if stop.is_set() or a.process.poll() is not None:
                        return
                    continue
                assert response.status_code == 201, response.text
                acknowledged.append(name)

    threads = [threading.Thread(target=sign_up_continuously, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    assert a.process.poll() is None
    before = len(acknowledged)
    os.killpg(a.process.pid, signal.SIGKILL)
    a.process.wait(timeout=10)
    time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join(timeout=20)
    assert not any(thread.is_alive() for thread in threads)
    assert before > 0
    report("SIGKILL under load", f"{len(acknowledged)} sign-ups acknowledged, "
           f"{len(lost)} cut off by the kill")  # fmt: skip
    with httpx.Client(base_url=b.url, timeout=10) as client:
        for name in acknowledged:
            response = client.post("/account/login", json={"username": name, "password": PASSWORD})
            assert response.status_code == 200, (name, response.text)


# --- 5. SIGTERM with requests in flight -----------------------------------------------------

DEFAULT_ARGON2 = {"AUTHGATE_ARGON2_TIME_COST": "2", "AUTHGATE_ARGON2_MEMORY_COST": "19456"}
IN_FLIGHT = 20


def test_sigterm_finishes_the_requests_in_flight(pg_database, instances):  # type: ignore[no-untyped-def]
    a = instances(pg_database, env=DEFAULT_ARGON2)
    sign_up(a, "alice")
    answers: list[tuple[int, float]] = []
    failures: list[BaseException] = []
    go = threading.Barrier(IN_FLIGHT + 1)

    def log_in_once() -> None:
        with httpx.Client(base_url=a.url, timeout=60) as client:
            go.wait(timeout=10)
            try:
                response = client.post("/account/login", json=credentials("alice"))
            except httpx.HTTPError as exc:
                failures.append(exc)
                return
            answers.append((response.status_code, time.monotonic()))

    threads = [threading.Thread(target=log_in_once) for _ in range(IN_FLIGHT)]
    for thread in threads:
        thread.start()
    go.wait(timeout=10)
    # Every request's connection accepted and its bytes sent, then a moment for the server
    # to read them: the requests are in flight when SIGTERM comes.
    within(10, lambda: established_to(a.port) >= IN_FLIGHT, every=0.005)
    time.sleep(0.1)
    answered_before = len(answers)
    terminated = time.monotonic()
    os.killpg(a.process.pid, signal.SIGTERM)
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert [status for status, _ in answers] == [200] * IN_FLIGHT
    after = sum(1 for _, at in answers if at > terminated)
    assert answered_before < IN_FLIGHT and after > 0, "nothing was in flight at SIGTERM"
    report("SIGTERM", f"{after} of {IN_FLIGHT} log-ins answered after SIGTERM, all 200")
    # uvicorn re-raises the SIGTERM it caught once it has shut down gracefully.
    assert a.process.wait(timeout=30) in (0, -signal.SIGTERM)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{a.url}/health", timeout=2)
