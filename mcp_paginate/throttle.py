"""Per-source throttles: requests in flight (``concurrency``) and requests per second (``rate_limit``).

A 429 from the API halves the allowed concurrency (down to 1) for that source.
"""

from __future__ import annotations

import math
import time

import anyio

__all__ = ["Throttle"]


class Throttle:
    """A capacity limiter plus a token bucket, shared by every session of one source."""

    def __init__(self, concurrency: int = 4, rate_limit: float | None = None) -> None:
        self.concurrency = concurrency
        self.rate_limit = rate_limit
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._rate_lock = anyio.Lock()
        self._tokens = 1.0
        self._burst = 1.0 if rate_limit is None else max(1.0, min(rate_limit, 1.0))
        self._updated = time.monotonic()

    def slot(self) -> _Slot:
        """``async with throttle.slot():`` one request in flight, within the rate limit."""
        return _Slot(self)

    def rate_limited(self) -> None:
        """The API said 429: halve concurrency."""
        self._limiter.total_tokens = max(1, math.floor(self._limiter.total_tokens / 2))

    @property
    def current_concurrency(self) -> int:
        return int(self._limiter.total_tokens)

    async def _take_token(self) -> None:
        if self.rate_limit is None:
            return
        async with self._rate_lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self._burst, self._tokens + (now - self._updated) * self.rate_limit)
                self._updated = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await anyio.sleep((1.0 - self._tokens) / self.rate_limit)


class _Slot:
    """A throttle's slot. A free one is taken without yielding to the event loop: the request
    that follows goes out now, not after whatever else is ready to run (part of a chain's
    turnaround from one response to the next request)."""

    __slots__ = ("throttle",)

    def __init__(self, throttle: Throttle) -> None:
        self.throttle = throttle

    async def __aenter__(self) -> None:
        limiter = self.throttle._limiter
        try:
            limiter.acquire_nowait()
        except anyio.WouldBlock:
            await limiter.acquire()
        try:
            await self.throttle._take_token()
        except BaseException:
            limiter.release()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self.throttle._limiter.release()
