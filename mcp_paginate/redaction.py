"""Masking of secrets in any text that leaves the server.

Every value expanded from ``${ENV}`` (and every known API key) is registered here
when it is used; `Redactor.redact` replaces each occurrence with ``[REDACTED]``.
It is applied where text leaves: tool errors, notes, logs and CLI output.
"""

from __future__ import annotations

import re
import threading
from typing import Any

__all__ = ["Redactor"]

_MIN_SECRET_LENGTH = 4  # shorter values ("1", "on") would mangle ordinary text


class Redactor:
    """A set of secret strings and the means to mask them."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()
        for secret in secrets or []:
            self.add(secret)

    def add(self, secret: str) -> None:
        if len(secret) < _MIN_SECRET_LENGTH or secret in self._secrets:
            return
        with self._lock:
            self._secrets.add(secret)
            # Longest first, so a secret containing another is masked whole.
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def redact(self, text: str) -> str:
        pattern = self._pattern
        return text if pattern is None else pattern.sub("[REDACTED]", text)

    def redact_any(self, value: Any) -> Any:
        """Redact strings inside a JSON-like value."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {self.redact_any(k): self.redact_any(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.redact_any(v) for v in value]
        return value
