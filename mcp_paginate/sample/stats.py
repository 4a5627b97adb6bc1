"""Traffic seen by a sample API app: requests, concurrency, authorizations (data requests only)."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from typing import Any

__all__ = ["Stats"]


class Stats:
    """Traffic seen by one sample API app (data requests only). Thread-safe.

    The lists keep the most recent ``keep`` entries.
    """

    def __init__(self, keep: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0
        self._requests = 0
        self._max_in_flight = 0
        self._by_path: Counter[str] = Counter()
        self._authorizations: deque[str] = deque(maxlen=keep)
        self._timestamps: deque[float] = deque(maxlen=keep)

    def request_started(self, path: str, authorization: str | None) -> None:
        """Record a data request entering the app."""
        with self._lock:
            self._requests += 1
            self._by_path[path] += 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            self._timestamps.append(time.monotonic())
            if authorization is not None:
                self._authorizations.append(authorization)

    def request_finished(self) -> None:
        """Record a data request leaving the app (answered, failed or dropped)."""
        with self._lock:
            self._in_flight -= 1

    def reset(self) -> None:
        """Forget everything seen so far (requests still in flight stay counted as in flight)."""
        with self._lock:
            self._requests = 0
            self._max_in_flight = self._in_flight
            self._by_path.clear()
            self._authorizations.clear()
            self._timestamps.clear()

    @property
    def requests(self) -> int:
        """Data requests received."""
        with self._lock:
            return self._requests

    @property
    def requests_by_path(self) -> dict[str, int]:
        """Data requests received, by URL path (no query)."""
        with self._lock:
            return dict(self._by_path)

    @property
    def in_flight(self) -> int:
        """Data requests being handled right now."""
        with self._lock:
            return self._in_flight

    @property
    def max_in_flight(self) -> int:
        """Most data requests seen in flight at once (latency and slow faults included)."""
        with self._lock:
            return self._max_in_flight

    @property
    def authorizations(self) -> list[str]:
        """``Authorization`` header values received, oldest first (requests without one are absent)."""
        with self._lock:
            return list(self._authorizations)

    @property
    def timestamps(self) -> list[float]:
        """``time.monotonic()`` at the arrival of each data request, oldest first."""
        with self._lock:
            return list(self._timestamps)

    def snapshot(self) -> dict[str, Any]:
        """Everything above as one JSON-ready dict (what ``GET /_stats`` returns)."""
        with self._lock:
            return {
                "requests": self._requests,
                "requests_by_path": dict(self._by_path),
                "in_flight": self._in_flight,
                "max_in_flight": self._max_in_flight,
                "authorizations": list(self._authorizations),
                "timestamps": list(self._timestamps),
            }
