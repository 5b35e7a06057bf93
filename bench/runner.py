"""One configuration (database, worker count) from start to finish: serve, seed, load, tidy up."""

import os
import shutil
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from authgate.security.passwords import default_hash_threads
from authgate.settings import Settings
from bench import client, hashlimit, scenarios, seed, wrk
from bench.databases import Target
from bench.servers import authgate_server, bare_server


@dataclass
class Options:
    wrk: str
    seconds: float
    warmup: float
    repeat: int
    users: int
    large_users: int
    hash_seconds: float
    work: Path
    pg_server: str
    keep: bool
    only: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Baseline:
    """What a run is compared with: bare req/s, or hashes/s; and the CPU time of one of them."""

    rate: float
    cpu_us: float | None


@dataclass
class ConfigResult:
    database: str
    workers: int
    database_version: str = ""
    argon2: dict[str, int] = field(default_factory=dict)
    tokens: bool = False
    hash_limit: list[Baseline] = field(default_factory=list)  # every measurement
    labels: dict[str, str] = field(default_factory=dict)
    loads: dict[str, str] = field(default_factory=dict)  # connections
    kinds: dict[str, str | None] = field(default_factory=dict)  # key -> its baseline's kind
    results: dict[str, list[wrk.Result]] = field(default_factory=dict)  # one per repetition
    baselines: dict[str, list[Baseline]] = field(default_factory=dict)  # one for each run
    seeding: dict[int, float] = field(default_factory=dict)  # users -> seconds
    rss_mib: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    measured: str = ""  # when, and with which command (set when the docs are written)

    @property
    def name(self) -> str:
        return f"{self.database}, {self.workers} worker{'s' if self.workers > 1 else ''}"

    def ratio(self, key: str) -> float | None:
        """× bare: the median of req/s over the bare req/s of the run just before it (for
        hash-bound scenarios, over the median bare req/s: they have no bare run of their own)."""
        found = self.results.get(key, [])
        if key == "bare" or not found:
            return 1.0 if found else None
        if self.kinds.get(key) == "bare":
            return self._paired(key)
        bares = [r.rps for r in self.results.get("bare", [])]  # none under --only login
        bare = statistics.median(bares) if bares else 0
        if self.kinds.get(key) == "hash" and bare:
            return statistics.median(r.rps for r in found) / bare
        return None

    def limit_ratio(self, key: str) -> float | None:
        """× the hash-bound limit measured around each run (the mean of before and after)."""
        return self._paired(key) if self.kinds.get(key) == "hash" else None

    def cpu_ratio(self, key: str) -> float | None:
        """The baseline's CPU time per request (or per hash) over this scenario's: how much of
        the server's CPU goes where the ceiling's does. The machine's other load hardly moves
        it, unlike req/s."""
        if key not in self.baselines:
            return None
        pairs = zip(self.results[key], self.baselines[key], strict=True)
        ratios = [base.cpu_us / r.cpu_us for r, base in pairs if base.cpu_us and r.cpu_us]
        return statistics.median(ratios) if ratios else None

    def _paired(self, key: str) -> float | None:
        if key not in self.baselines:
            return None
        pairs = zip(self.results[key], self.baselines[key], strict=True)
        ratios = [r.rps / base.rate for r, base in pairs if base.rate]
        return statistics.median(ratios) if ratios else None


def argon2_defaults() -> dict[str, int]:
    """The Argon2 parameters authgate uses when none are configured."""
    fields = Settings.model_fields
    return {
        "time_cost": fields["argon2_time_cost"].default,
        "memory_cost": fields["argon2_memory_cost"].default,
        "parallelism": fields["argon2_parallelism"].default,
    }


def server_env(target: Target) -> dict[str, str]:
    # No AUTHGATE_* from the caller's shell: the server runs on its defaults (Argon2 included),
    # except that the log-in and sign-up rate limits, which would refuse a load test by design,
    # are off.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHGATE_")}
    return {**env, **target.server_env(), "AUTHGATE_RATE_LIMIT_ENABLED": "false"}


def run_config(database: str, workers: int, opts: Options, run_id: str) -> ConfigResult:
    result = ConfigResult(database, workers, argon2=argon2_defaults())
    work = opts.work / f"{database}-{workers}w-{run_id}"
    target = Target(database, work / "data", opts.pg_server)
    target.create()
    authgate = authgate_server(workers, server_env(target), work / "authgate.log")
    bare = bare_server(workers, work / "bare.log")
    try:
        result.database_version = target.server_version()
        authgate.start(workers, "/health")
        bare.start(workers, "/hello")
        bench = scenarios.Bench(opts.wrk, authgate, bare, opts.seconds, 0, run_id, work=work)
        _drive(result, target, bench, opts)
        result.rss_mib = {"authgate": authgate.rss_mib(), "bare": bare.rss_mib()}
    finally:
        authgate.stop()
        bare.stop()
        target.drop()
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)
    return result


def _drive(result: ConfigResult, target: Target, b: scenarios.Bench, opts: Options) -> None:
    hashed = seed.password_hash(result.argon2)
    _seed(result, target, b, opts.users, hashed)
    port = b.authgate.port
    b.tokens = client.has_route(port, "POST", "/account/login") and client.has_route(
        port, "POST", "/account/refresh"
    )
    result.tokens = b.tokens
    headers = client.cookie_login(port, "user1", seed.PASSWORD)
    status, _, data = client.call(port, "PUT", "/items/bench-item?name=bench&size=1", None, headers)
    client.expect(status, 201, "PUT /items/bench-item", data)
    for repetition in range(opts.repeat):
        print(f"[{result.name}] repetition {repetition + 1}/{opts.repeat}", flush=True)
        for scenario in scenarios.throughput_scenarios(b):
            if not opts.only or scenario.key in opts.only:
                _measure(result, b, scenario, opts)
    for scenario in scenarios.latency_scenarios(b, "small"):
        if not opts.only or scenario.key in opts.only:
            _measure(result, b, scenario, opts)
    if opts.large_users > opts.users:
        _seed(result, target, b, opts.large_users, hashed)
        for scenario in scenarios.latency_scenarios(b, "large"):
            _measure(result, b, scenario, opts)


def _seed(
    result: ConfigResult, target: Target, b: scenarios.Bench, users: int, hashed: str
) -> None:
    print(f"[{result.name}] seeding users {b.users + 1:,}..{users:,}", flush=True)
    result.seeding[users] = seed.seed_users(target, b.users + 1, users, hashed)
    b.users = users
    print(f"[{result.name}]   {result.seeding[users]:.1f} s", flush=True)


def _measure(
    result: ConfigResult, b: scenarios.Bench, scenario: scenarios.Scenario, opts: Options
) -> None:
    """Measure `scenario`, right after its baseline (the machine's load drifts over minutes),
    both once the servers are idle: a hash-bound limit measured while the server still hashes
    for the run before would be too low, and its scenario's ratio too high. The hash-bound
    limit is measured on both sides of the run and averaged: on a slow machine it moved by a
    fifth from one sample to the next (70-85 hashes/s), the server's rate far less."""
    _wait_idle(b)
    base = None
    if scenario.baseline == "bare":
        bare = _run(result, b, scenarios.BARE, opts)
        base = Baseline(bare.rps, bare.cpu_us)
    elif scenario.baseline == "hash":
        base = _hash_limit(result, opts, "before")
    _run(result, b, scenario, opts)
    if scenario.baseline == "hash" and base is not None:
        _wait_idle(b)
        after = _hash_limit(result, opts, "after")
        base = Baseline(
            (base.rate + after.rate) / 2, ((base.cpu_us or 0) + (after.cpu_us or 0)) / 2
        )
    result.kinds[scenario.key] = scenario.baseline
    if scenario.companion is not None:
        result.kinds[scenario.companion.key] = None
    if base is not None:
        result.baselines.setdefault(scenario.key, []).append(base)


def _hash_limit(result: ConfigResult, opts: Options, when: str) -> Baseline:
    limit = hashlimit.measure(result.argon2, default_hash_threads(), opts.hash_seconds)
    base = Baseline(limit.per_second, limit.cpu_ms * 1000)
    result.hash_limit.append(base)
    print(
        f"[{result.name}] hash-bound limit ({when}): {limit.per_second:.1f} hashes/s, "
        f"{limit.cpu_ms:.1f} ms CPU per hash",
        flush=True,
    )
    return base


def _run(
    result: ConfigResult, b: scenarios.Bench, scenario: scenarios.Scenario, opts: Options
) -> wrk.Result:
    if opts.warmup:
        _check(result, scenario, scenarios.measure(b, scenario, opts.warmup)[1], "warm-up")
        # What the warm-up left (a log-in warm-up: hashes for its dropped clients) would
        # otherwise take the first quarter second of the run.
        _wait_idle(b)
    loads, found = scenarios.measure(b, scenario, opts.seconds)
    _check(result, scenario, found, "run")
    rows = [(scenario.key, scenario.label)]
    if scenario.companion is not None:  # the background's result is a row of its own
        rows.append((scenario.companion.key, scenario.companion.label))
    for (key, label), load, r in zip(rows, loads, found, strict=False):
        result.labels[key] = label
        result.loads[key] = f"{load.connections}"
        result.results.setdefault(key, []).append(r)
        print(
            f"[{result.name}] {label}: {r.rps:,.1f} req/s, p50 {r.p50_ms:.2f} ms, "
            f"p99 {r.p99_ms:.2f} ms, {_cpu_text(r.cpu_us)} server CPU/req, non-2xx {r.non2xx}, "
            f"socket errors {r.errors}",
            flush=True,
        )
    return found[0]


def _wait_idle(b: scenarios.Bench) -> None:
    for server in (b.authgate, b.bare):
        server.wait_idle()


def _cpu_text(cpu_us: float | None) -> str:
    return "n/a" if cpu_us is None else f"{cpu_us:,.0f} µs"


def _check(
    result: ConfigResult, scenario: scenarios.Scenario, found: list[wrk.Result], phase: str
) -> None:
    for r in found:
        if not r.ok:
            result.failures.append(
                f"{result.name}: {scenario.label} ({phase}): {r.non2xx} non-2xx, "
                f"{r.errors} socket errors; first failure: {r.first_failure or 'n/a'}"
            )
