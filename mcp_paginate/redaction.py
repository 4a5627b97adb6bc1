"""Masking of secrets in any text that leaves the server.

Every value expanded from ``${ENV}`` (and every known API key) is registered here
when it is used; `Redactor.redact` replaces each occurrence with ``[REDACTED]``.
It is applied where text leaves: tool errors, notes, logs and CLI output, and, when
`Redactor.found_in` sees a secret in a response body, the records taken from it.

A secret is masked in every form text may carry it: as it is, percent-encoded for a path,
a query or a form (``%2B`` or ``%2b``: either case), and JSON-escaped (``\\/``, ``\\u00e9``).
`Redactor.shorten` masks before it cuts, so a secret across the cut is never half shown.

Secrets that came from a named variable can also be *concealed*: replaced by a marker such as
``{secret:GITHUB_TOKEN}`` that `Redactor.reveal` turns back into the value. The engine conceals
the positions it stores (an API that copies a ``?api_key=`` into its next links would otherwise
put the key in the session store and in ``page.request``) and reveals them just before sending.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["Redactor"]

REDACTED = "[REDACTED]"
_MIN_SECRET_LENGTH = 4  # shorter values ("1", "on") would mangle ordinary text
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MARKER = re.compile(r"\{secret:[A-Za-z_][A-Za-z0-9_]*(?::url|:path|:form)?\}")
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}")
_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+")  # never encoded or escaped, in any of the forms
_NEEDLE_RUN = 8


def _encodings(secret: str) -> dict[str, str]:
    """The secret as a URL or form carries it, by marker suffix (first of equal texts wins)."""
    forms: dict[str, str] = {}
    for suffix, text in (
        ("", secret),
        (":url", quote(secret, safe="")),
        (":path", quote(secret)),
        (":form", quote_plus(secret)),
    ):
        if text not in forms.values():
            forms[suffix] = text
    return forms


def _json_escapes(secret: str) -> list[str]:
    """The secret inside a JSON string, as encoders write it (``/`` escaped or not)."""
    escaped = {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    return sorted(escaped | {text.replace("/", "\\/") for text in escaped})


def _any_case(text: str) -> str:
    """A regex for ``text`` whose ``%XX`` and ``\\uXXXX`` escapes match in upper or lower case."""
    parts: list[str] = []
    position = 0
    for match in _ESCAPE.finditer(text):
        escape = match.group()
        lead = 1 if escape.startswith("%") else 2
        parts.append(re.escape(text[position : match.start()] + escape[:lead]))
        parts.extend(f"[{d.upper()}{d.lower()}]" if d.isalpha() else d for d in escape[lead:])
        position = match.end()
    parts.append(re.escape(text[position:]))
    return "".join(parts)


def _upper_escapes(text: str) -> str:
    return _ESCAPE.sub(lambda match: match.group().upper().replace("\\U", "\\u"), text)


def _needles(secret: str) -> list[bytes]:
    """What `Redactor.found_in` looks for: the secret's longest unreserved run, which every form
    keeps as it is, when it is long enough to be telling; else each form, in both cases."""
    run = max(_UNRESERVED.findall(secret), key=len, default="")
    if run and len(run) >= min(len(secret), _NEEDLE_RUN):
        return [run.encode()]
    forms = [*_encodings(secret).values(), *_json_escapes(secret)]
    found = {form.encode() for form in forms}
    found |= {_ESCAPE.sub(lambda match: match.group().lower(), form).encode() for form in forms}
    return sorted(found)


class Redactor:
    """A set of secret strings and the means to mask them.

    Example::

        redactor = Redactor(["sk+live/AbC9=="])
        redactor.redact("GET /x?api_key=sk%2blive%2fAbC9%3d%3d")  # 'GET /x?api_key=[REDACTED]'
    """

    def __init__(self, secrets: list[str] | None = None) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._markers: dict[str, str] = {}  # marker -> the text it stands for
        self._by_text: dict[str, str] = {}  # text (escapes in upper case) -> its marker
        self._longest = 0  # the longest form's length
        self._needles: tuple[bytes, ...] = ()
        self._concealable: re.Pattern[str] | None = None
        self._lock = threading.Lock()
        for secret in secrets or []:
            self.add(secret)

    def add(self, secret: str, *, name: str | None = None) -> None:
        """Mask ``secret`` from now on; with the variable's ``name``, `conceal` can also mark it."""
        if len(secret) < _MIN_SECRET_LENGTH:
            return
        with self._lock:
            if name is not None and _NAME.fullmatch(name):
                # New dicts and pattern, swapped in whole: `conceal` and `reveal` read them without the lock.
                markers, by_text = dict(self._markers), dict(self._by_text)
                for suffix, text in _encodings(secret).items():
                    marker = f"{{secret:{name}{suffix}}}"
                    if text not in by_text:
                        markers[marker] = text
                        by_text[text] = marker
                self._markers, self._by_text = markers, by_text
                self._concealable = _alternation(by_text)
            if secret in self._secrets:
                return
            self._secrets.add(secret)
            forms: set[str] = set()
            for each in self._secrets:
                forms.update(_encodings(each).values(), _json_escapes(each))
            self._longest = max(map(len, forms))
            self._needles = tuple(sorted({needle for each in self._secrets for needle in _needles(each)}))
            self._pattern = _alternation(forms)

    def conceal(self, text: str) -> str:
        """Replace each named secret (raw or percent-encoded, escapes in either case) with a marker
        `reveal` undoes."""
        pattern = self._concealable
        if pattern is None:
            return text
        by_text = self._by_text
        return pattern.sub(lambda match: by_text.get(_upper_escapes(match.group()), match.group()), text)

    def reveal(self, text: str) -> str:
        """Put back the secrets `conceal` marked (markers of unknown names stay as they are)."""
        if "{secret:" not in text:
            return text
        return _MARKER.sub(lambda match: self._markers.get(match.group(0), match.group(0)), text)

    def redact(self, text: str) -> str:
        """``text`` with every secret, in any of its forms, replaced by ``[REDACTED]``."""
        pattern = self._pattern
        return text if pattern is None else pattern.sub(REDACTED, text)

    def shorten(self, text: str, limit: int) -> str:
        """`redact`, then cut to ``limit`` characters (marked ``…``); a secret that the cut would
        go through is masked whole, never shown in part."""
        pattern = self._pattern
        if len(text) <= limit:
            return self.redact(text)
        end = limit
        if pattern is not None:
            # Only a window is searched: an error body may be megabytes long.
            window = text[: limit + self._longest]
            for match in pattern.finditer(window):
                if match.start() >= limit:
                    break
                end = max(end, match.end())
        return self.redact(text[:end]) + ("…" if end < len(text) else "")

    def found_in(self, data: bytes) -> bool:
        """Whether ``data`` (a response body) may hold a secret: a substring test per secret, so
        a body without any costs next to nothing. True means: redact what was parsed from it."""
        return any(needle in data for needle in self._needles)

    def found(self, text: str) -> bool:
        """Whether ``text`` holds a secret in any of its forms."""
        pattern = self._pattern
        return pattern is not None and pattern.search(text) is not None

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


def _alternation(texts: Any) -> re.Pattern[str]:
    """One pattern for all ``texts``, longest first (a secret containing another is masked whole),
    escapes matching in either case."""
    ordered = sorted(set(texts), key=lambda text: (-len(text), text))
    return re.compile("|".join(_any_case(text) for text in ordered))
