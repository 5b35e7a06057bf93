"""Abuse limits: log-in per username and per client IP; sign-up and password reset per IP.

Counters live in memory (per process) or, when AUTHGATE_REDIS_URL is set, in Redis, shared
by every instance. Redis is never fatal: while it cannot be reached, each instance counts in
its own memory (an attacker gains at most a factor of the number of instances, for as long as
Redis is down), and sharing resumes by itself when Redis answers again. Going over a limit
raises `RateLimited` (429) with `Retry-After`.
"""

import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from authgate.errors import InvalidCredentials, RateLimited
from authgate.settings import Settings

SHARED_RETRY = 2.0  # seconds on local counters after Redis failed, before trying it again
log = logging.getLogger("authgate.limits")


class _Limiter:
    """A moving-window limiter on Redis when configured, on local memory while Redis is down."""

    def __init__(self, redis_url: str | None) -> None:
        self._local = MovingWindowRateLimiter(storage_from_string("async+memory://"))
        self._shared = None
        if redis_url:
            storage = storage_from_string(
                f"async+{redis_url}",
                implementation="redispy",
                socket_timeout=0.5,
                socket_connect_timeout=0.5,
            )
            self._shared = MovingWindowRateLimiter(storage)
        self._shared_down_until = 0.0

    async def call(self, method: str, *args: Any) -> Any:
        if self._shared is not None and time.monotonic() >= self._shared_down_until:
            try:
                return await getattr(self._shared, method)(*args)
            except Exception as exc:
                log.warning("Redis unreachable (%s): counting limits locally", type(exc).__name__)
                self._shared_down_until = time.monotonic() + SHARED_RETRY
        return await getattr(self._local, method)(*args)

    async def is_shared_up(self) -> bool:
        try:
            return self._shared is not None and bool(await self._shared.storage.check())
        except Exception:
            return False


class Limits:
    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limit_enabled
        self._limiter = _Limiter(settings.redis_url)
        self.login = parse(settings.rate_limit_login)
        self.login_ip = parse(settings.rate_limit_login_ip)
        self.signup = parse(settings.rate_limit_signup)
        self.password_reset = parse(settings.rate_limit_password_reset)

    @asynccontextmanager
    async def login_attempt(self, username_key: str, ip: str) -> AsyncIterator[None]:
        """Guard one log-in: every attempt counts against the IP, failures against the name.

        Only failures count per username, so that an attacker guessing one account's password
        is stopped while its owner, who knows the password, is not locked out by logging in.
        """
        if self.enabled:
            await self._hit(self.login_ip, "login-ip", ip)
            if not await self._limiter.call("test", self.login, "login-user", username_key):
                raise await self._refusal(self.login, "login-user", username_key)
        try:
            yield
        except InvalidCredentials:
            if self.enabled:
                await self._limiter.call("hit", self.login, "login-user", username_key)
            raise

    async def hit_login_ip(self, ip: str) -> None:
        """Count a log-in step that names no account yet (passkey options) against the IP."""
        if self.enabled:
            await self._hit(self.login_ip, "login-ip", ip)

    async def hit_signup(self, ip: str) -> None:
        if self.enabled:
            await self._hit(self.signup, "signup-ip", ip)

    async def hit_password_reset(self, ip: str) -> None:
        if self.enabled:
            await self._hit(self.password_reset, "reset-ip", ip)

    async def is_storage_up(self) -> bool:
        """Whether the shared counters' storage (Redis, when configured) answers."""
        return await self._limiter.is_shared_up()

    async def _hit(self, item: RateLimitItem, *key: str) -> None:
        if not await self._limiter.call("hit", item, *key):
            raise await self._refusal(item, *key)

    async def _refusal(self, item: RateLimitItem, *key: str) -> RateLimited:
        stats = await self._limiter.call("get_window_stats", item, *key)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        return RateLimited(headers={"Retry-After": str(retry_after)})
