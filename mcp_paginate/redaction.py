"""Masking of secrets in any text that leaves the server.

Every value expanded from ``${ENV}`` (and every known API key) is registered here
when it is used; `Redactor.redact` replaces each occurrence with ``[REDACTED]``.
It is applied where text leaves: tool errors, notes, logs and CLI output.

Secrets that came from a named variable can also be *concealed*: replaced by a marker such as
``{secret:GITHUB_TOKEN}`` that `Redactor.reveal` turns back into the value. The engine conceals
the positions it stores (an API that copies a ``?api_key=`` into its next links would otherwise
put the key in the session store and in ``page.request``) and reveals them just before sending.
"""

from __future__ import annotations

import re
import threading
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["Redactor"]

_MIN_SECRET_LENGTH = 4  # shorter values ("1", "on") would mangle ordinary text
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MARKER = re.compile(r"\{secret:[A-Za-z_][A-Za-z0-9_]*(?::url|:form)?\}")


class Redactor:
    """A set of secret strings and the means to mask them."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._markers: dict[str, str] = {}  # marker -> the text it stands for
        self._by_text: dict[str, str] = {}  # text -> its marker, longest text first
        self._lock = threading.Lock()
        for secret in secrets or []:
            self.add(secret)

    def add(self, secret: str, *, name: str | None = None) -> None:
        """Mask ``secret`` from now on; with the variable's ``name``, `conceal` can also mark it."""
        if len(secret) < _MIN_SECRET_LENGTH:
            return
        with self._lock:
            if name is not None and _NAME.fullmatch(name):
                # The value as it appears raw, percent-encoded in a path or query, or form-encoded.
                # New dicts, swapped in whole: `conceal` and `reveal` read them without the lock.
                markers, by_text = dict(self._markers), dict(self._by_text)
                for form, text in (
                    ("", secret),
                    (":url", quote(secret, safe="")),
                    (":form", quote_plus(secret)),
                ):
                    marker = f"{{secret:{name}{form}}}"
                    if text not in by_text:
                        markers[marker] = text
                        by_text[text] = marker
                self._markers = markers
                self._by_text = dict(sorted(by_text.items(), key=lambda item: -len(item[0])))
            if secret in self._secrets:
                return
            self._secrets.add(secret)
            # Longest first, so a secret containing another is masked whole.
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))

    def conceal(self, text: str) -> str:
        """Replace each named secret (raw or URL-encoded) with a marker `reveal` undoes."""
        for secret, marker in self._by_text.items():
            if secret in text:
                text = text.replace(secret, marker)
        return text

    def reveal(self, text: str) -> str:
        """Put back the secrets `conceal` marked (markers of unknown names stay as they are)."""
        if "{secret:" not in text:
            return text
        return _MARKER.sub(lambda match: self._markers.get(match.group(0), match.group(0)), text)

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
