"""How transient failures are retried: `RetryPolicy`, ``Retry-After``, and the `RequestLog` of
what was retried and waited (for the result's notes, and named in the final error)."""

from __future__ import annotations

import email.utils
import math
import random
import time
from dataclasses import dataclass, field
from datetime import UTC

from mcp_paginate.errors import PaginateError

__all__ = ["RETRYABLE_STATUSES", "RequestLog", "RetryPolicy", "Retryable", "parse_retry_after"]

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried, and how long and how much one request may take."""

    retries: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    retry_after_cap: float = 60.0
    timeout: float = 30.0
    max_response_bytes: int = 50_000_000

    def backoff(self, attempt: int) -> float:
        """Full jitter: a random wait up to ``backoff_base * 2**attempt`` (capped)."""
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * (2 ** min(attempt, 32))))


@dataclass
class RequestLog:
    """What happened while sending: requests, retries and waits, for the result's notes."""

    requests: int = 0
    retries: int = 0
    waited: float = 0.0
    reasons: list[str] = field(default_factory=list)

    def summary(self) -> str:
        kinds = ", ".join(sorted(set(self.reasons))) or "none"
        return f"retried {self.retries} time(s) ({kinds}), waited {self.waited:.1f}s in total"

    def notes(self) -> list[str]:
        return [self.summary()] if self.retries else []

    def add(self, other: RequestLog) -> None:
        """Count another log's requests, retries and waits in this one."""
        self.requests += other.requests
        self.retries += other.retries
        self.waited += other.waited
        self.reasons.extend(other.reasons)


class Retryable(Exception):
    """A transient failure: worth another attempt. ``final`` is the error raised when the attempts
    run out; ``retry_after`` the server's ``Retry-After``, if it sent one."""

    def __init__(self, reason: str, final: PaginateError, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.final = final


def parse_retry_after(value: str | None, cap: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or HTTP-date), between 0 and ``cap``.

    None when the header is absent or unreadable (the caller then backs off on its own).
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:  # "-0000" or no zone: RFC 9110 dates are GMT
            when = when.replace(tzinfo=UTC)
        try:
            seconds = when.timestamp() - time.time()
        except (OverflowError, OSError, ValueError):
            return None
    if math.isnan(seconds):
        return None
    return max(0.0, min(seconds, cap))
