"""A bounded wait for one of a store's connections, that does not queue behind an outage.

`ConnectionGate` lets at most ``size`` calls use a networked store at once; the others wait
their turn, at most ``timeout`` seconds. Waiting is right while the store is healthy but
busy (a burst of concurrent tool calls): each call holds a connection for a fraction of a
millisecond. It is wrong while the store is down: every holder spends its retries failing
to connect, and a call queued behind them would fail the same way, only later. So once a
call has found the store unreachable (and until one succeeds), a call that would have to
wait, or that waited while the failure happened, fails at once with that error.

Example::

    gate = ConnectionGate(64, timeout=10.0)
    async with gate.slot():          # raises GateBusy after 10 s, GateDown while down
        try:
            await redis.get(key)
        except ConnectionError as exc:
            gate.failed(str(exc))
            raise
        gate.succeeded()
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

__all__ = ["ConnectionGate", "GateBusy", "GateDown"]


class GateBusy(Exception):
    """Every connection stayed in use for the whole timeout."""


class GateDown(Exception):
    """The store was found unreachable (the message is that failure's reason)."""


class ConnectionGate:
    """At most ``size`` concurrent users; a bounded wait for the rest; no waiting during an outage."""

    def __init__(self, size: int, *, timeout: float) -> None:
        self.size = size
        self.timeout = timeout
        # fast_acquire: no extra checkpoint when a slot is free; the store call awaits I/O at once.
        self._slots = anyio.Semaphore(size, fast_acquire=True)
        self._failed_at = -math.inf
        self._succeeded_at = -math.inf
        self._reason = ""

    @property
    def down(self) -> bool:
        """The last call that reached a verdict found the store unreachable."""
        return self._failed_at > self._succeeded_at

    def failed(self, reason: str) -> None:
        """Record that a call could not reach the store."""
        self._failed_at = time.monotonic()
        self._reason = reason

    def succeeded(self) -> None:
        """Record that a call reached the store."""
        self._succeeded_at = time.monotonic()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the ``size`` slots for the body.

        Raises:
            GateBusy: no slot came free within ``timeout``.
            GateDown: the store is down and this call would have waited, or it went down
                while this call waited.
        """
        arrived = time.monotonic()
        if self.down and self._slots.value == 0:
            raise GateDown(self._reason)
        with anyio.move_on_after(self.timeout) as waiting:
            await self._slots.acquire()
        if waiting.cancelled_caught:
            raise GateBusy(f"all {self.size} connections stayed in use for {self.timeout:g} s")
        try:
            if self.down and self._failed_at > arrived:
                raise GateDown(self._reason)
            yield
        finally:
            self._slots.release()
