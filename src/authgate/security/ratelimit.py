"""Abuse limits: log-in per username and per client IP; sign-up and password reset per IP.

Counters live in memory (per process) or, when AUTHGATE_REDIS_URL is set, in Redis, shared
by every instance. Going over a limit raises `RateLimited` (429) with `Retry-After`.
"""

import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from authgate.errors import InvalidCredentials, RateLimited
from authgate.settings import Settings


def storage_uri(redis_url: str | None) -> str:
    return f"async+{redis_url}" if redis_url else "async+memory://"


class Limits:
    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limit_enabled
        self._limiter = MovingWindowRateLimiter(
            storage_from_string(storage_uri(settings.redis_url))
        )
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
            if not await self._limiter.test(self.login, "login-user", username_key):
                raise await self._refusal(self.login, "login-user", username_key)
        try:
            yield
        except InvalidCredentials:
            if self.enabled:
                await self._limiter.hit(self.login, "login-user", username_key)
            raise

    async def hit_signup(self, ip: str) -> None:
        if self.enabled:
            await self._hit(self.signup, "signup-ip", ip)

    async def hit_password_reset(self, ip: str) -> None:
        if self.enabled:
            await self._hit(self.password_reset, "reset-ip", ip)

    async def is_storage_up(self) -> bool:
        """Whether the counters' storage (Redis, when configured) answers."""
        try:
            return bool(await self._limiter.storage.check())
        except Exception:
            return False

    async def _hit(self, item: RateLimitItem, *key: str) -> None:
        if not await self._limiter.hit(item, *key):
            raise await self._refusal(item, *key)

    async def _refusal(self, item: RateLimitItem, *key: str) -> RateLimited:
        stats = await self._limiter.get_window_stats(item, *key)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        return RateLimited(headers={"Retry-After": str(retry_after)})
