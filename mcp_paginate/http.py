"""The one place where HTTP is done.

`HttpClient.send` sends a `PreparedRequest` with:

- retries with exponential backoff and full jitter on 429, 500/502/503/504, connection
  errors, timeouts and truncated or non-JSON bodies; ``Retry-After`` honoured in both
  seconds and HTTP-date forms, capped;
- a cap on the bytes read from a response (the body is streamed and abandoned past it);
- redirects followed only where `OriginPolicy` allows, with credentials dropped when the
  origin changes;
- transport exceptions translated to `mcp_paginate.errors` (``raise ... from exc``).

`OriginPolicy` decides where requests may go: the source's own origin, the configured
``allowed_hosts``, and, for ad-hoc requests, never a private, loopback or link-local
address unless that host is listed explicitly by address.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import random
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import anyio
import httpx2

from mcp_paginate.errors import (
    HostNotAllowedError,
    ResponseShapeError,
    TransportError,
    UpstreamStatusError,
)
from mcp_paginate.paginators import PreparedRequest

__all__ = ["HttpClient", "HttpResponse", "OriginPolicy", "RetryPolicy", "origin_of"]

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key", "x-auth-token", "x-access-token"}
)
_MAX_REDIRECTS = 5
_UPSTREAM_MESSAGE_CHARS = 300


def origin_of(url: str) -> str:
    """``scheme://host:port`` with the default port made explicit."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return (parts.hostname or "").lower(), parts.port or (443 if parts.scheme.lower() == "https" else 80)


def _is_credential(name: str, extra: Iterable[str]) -> bool:
    lowered = name.lower()
    return lowered in CREDENTIAL_HEADERS or lowered in extra or any(
        word in lowered for word in ("token", "secret", "api-key", "apikey", "auth")
    )


@dataclass(frozen=True)
class OriginPolicy:
    """Where requests of one session may go.

    ``home`` is the origin of the session's first request; ``allowed_hosts`` are
    ``host`` or ``host:port`` entries from the config. ``ad_hoc`` sessions are
    additionally refused private/loopback/link-local addresses unless the host is
    listed by address (or ``allow_private_networks`` is set).
    """

    home: str
    allowed_hosts: tuple[str, ...] = ()
    ad_hoc: bool = False
    allow_private_networks: bool = False
    secret_headers: frozenset[str] = frozenset()

    def host_listed(self, url: str) -> bool:
        host, port = _host_port(url)
        for entry in self.allowed_hosts:
            entry = entry.lower().strip()
            if "://" in entry:
                entry = urlsplit(entry).netloc
            if entry.startswith("["):  # [::1]:8080
                name, _, rest = entry[1:].partition("]")
                entry_port = rest.lstrip(":")
            elif entry.count(":") == 1:
                name, entry_port = entry.split(":")
            else:
                name, entry_port = entry, ""
            if name == host and (not entry_port or entry_port == str(port)):
                return True
        return False

    def check(self, url: str, *, source: str | None = None) -> bool:
        """Raise if url may not be requested; return True if credentials must be dropped."""
        parts = urlsplit(url)
        if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
            raise HostNotAllowedError(f"refusing {parts.scheme or 'relative'} URL: only http(s) URLs can be requested", source=source)
        same_origin = origin_of(url) == self.home
        if same_origin:
            return False  # the home origin was checked when the session started
        listed = self.host_listed(url)
        if not listed:
            host, port = _host_port(url)
            raise HostNotAllowedError(
                f"refusing to follow a link to {host}:{port}: it is outside the source's origin "
                f"({self.home}) and not in server.allowed_hosts",
                source=source,
            )
        if self.ad_hoc:
            self._check_address(url, source)
        return True

    def check_start(self, url: str, *, source: str | None = None) -> None:
        """An ad-hoc request's first URL must be on an allowed host."""
        if not self.host_listed(url):
            host, port = _host_port(url)
            allowed = ", ".join(self.allowed_hosts) or "none"
            raise HostNotAllowedError(
                f"ad-hoc requests may only reach server.allowed_hosts (now: {allowed}); {host}:{port} is not "
                "listed. Use a configured source (see list_sources) or ask the user to add the host.",
                source=source,
            )
        self._check_address(url, source)

    def _check_address(self, url: str, source: str | None) -> None:
        if self.allow_private_networks:
            return
        host, port = _host_port(url)
        literal = _parse_address(host)
        explicitly_listed = self.host_listed(url) and (literal is not None or host == "localhost")
        if explicitly_listed:
            return
        addresses = [literal] if literal is not None else _resolve(host, port)
        for address in addresses:
            if _is_internal(address):
                raise HostNotAllowedError(
                    f"refusing {host}: it resolves to the internal address {address}; list it by address in "
                    "server.allowed_hosts, or set server.allow_private_networks, to allow it",
                    source=source,
                )

    def strip_credentials(self, headers: dict[str, str]) -> dict[str, str]:
        return {k: v for k, v in headers.items() if not _is_credential(k, self.secret_headers)}


def _parse_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError:
        return []  # the request itself will fail with a clear connection error
    found = []
    for info in infos:
        address = _parse_address(str(info[4][0]).split("%")[0])
        if address is not None:
            found.append(address)
    return found


def _is_internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return _is_internal(mapped)
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried."""

    retries: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    retry_after_cap: float = 60.0
    timeout: float = 30.0
    max_response_bytes: int = 50_000_000

    def backoff(self, attempt: int) -> float:
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * (2**attempt)))


@dataclass
class HttpResponse:
    """A parsed JSON response."""

    status: int
    headers: dict[str, str]
    body: Any
    url: str
    links: dict[str, str] = field(default_factory=dict)


@dataclass
class RequestLog:
    """What happened while sending: retries and waits, for the result's notes."""

    requests: int = 0
    retries: int = 0
    waited: float = 0.0
    reasons: list[str] = field(default_factory=list)

    def notes(self) -> list[str]:
        if not self.retries:
            return []
        kinds = ", ".join(sorted(set(self.reasons)))
        return [f"retried {self.retries} time(s) ({kinds}), waited {self.waited:.1f}s in total"]


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None, final: Exception | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.final = final


def parse_retry_after(value: str | None, cap: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or HTTP-date), capped."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, min(seconds, cap))


def upstream_message(text: str) -> str:
    """A short, single-line excerpt of an upstream error body."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("error_description", "message", "error", "detail", "title", "errors"):
            if data.get(key):
                value = data[key]
                text = value if isinstance(value, str) else json.dumps(value)
                break
    text = " ".join(text.split())
    if len(text) > _UPSTREAM_MESSAGE_CHARS:
        text = text[:_UPSTREAM_MESSAGE_CHARS] + "…"
    return text


class HttpClient:
    """A pooled async HTTP client (one connection pool per origin, keep-alive)."""

    def __init__(self, retry: RetryPolicy | None = None, transport: httpx2.AsyncBaseTransport | None = None) -> None:
        self.retry = retry or RetryPolicy()
        self._client = httpx2.AsyncClient(
            timeout=httpx2.Timeout(self.retry.timeout),
            follow_redirects=False,
            limits=httpx2.Limits(max_connections=64, max_keepalive_connections=32, keepalive_expiry=30.0),
            transport=transport,
            trust_env=False,
            headers={"User-Agent": "mcp-paginate"},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(
        self,
        request: PreparedRequest,
        policy: OriginPolicy,
        *,
        source: str | None = None,
        log: RequestLog | None = None,
        on_rate_limited: Any = None,
    ) -> HttpResponse:
        """Send with retries; return the parsed JSON response.

        Raises:
            UpstreamStatusError: a non-2xx status that is not transient, or still failing after retries.
            ResponseShapeError: the body is not JSON after retries.
            TransportError: the API could not be reached after retries.
            HostNotAllowedError: a redirect leads where the policy forbids.
        """
        log = log or RequestLog()
        attempt = 0
        while True:
            log.requests += 1
            try:
                return await self._send_once(request, policy, source)
            except _Retryable as problem:
                if attempt >= self.retry.retries:
                    assert problem.final is not None
                    raise problem.final from None
                if problem.reason == "429" and on_rate_limited is not None:
                    on_rate_limited()
                wait = problem.retry_after if problem.retry_after is not None else self.retry.backoff(attempt)
                attempt += 1
                log.retries += 1
                log.waited += wait
                log.reasons.append(problem.reason)
                await anyio.sleep(wait)

    async def _send_once(self, request: PreparedRequest, policy: OriginPolicy, source: str | None) -> HttpResponse:
        url, method = request.url, request.method
        headers = dict(request.headers)
        body = request.body
        params: dict[str, str] | None = request.query or None
        for _ in range(_MAX_REDIRECTS + 1):
            try:
                response = await self._stream(method, url, headers, params, body, source)
            except httpx2.TimeoutException as exc:
                raise _Retryable("timeout", final=TransportError(f"request to {_display(url)} timed out", source=source)) from exc
            except httpx2.TransportError as exc:
                kind = type(exc).__name__
                raise _Retryable(
                    "connection error",
                    final=TransportError(f"could not reach {_display(url)}: {kind}", source=source),
                ) from exc
            status, response_headers, content, final_url = response
            if status in {301, 302, 303, 307, 308} and "location" in response_headers:
                target = urljoin(final_url, response_headers["location"])
                if policy.check(target, source=source):
                    headers = policy.strip_credentials(headers)
                if status == 303 or (status in {301, 302} and method != "GET"):
                    method, body = "GET", None
                url, params = target, None
                continue
            return self._parse(status, response_headers, content, final_url, source)
        raise TransportError(f"too many redirects from {_display(request.url)}", source=source)

    async def _stream(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        params: dict[str, str] | None,
        body: Any,
        source: str | None,
    ) -> tuple[int, dict[str, str], bytes, str]:
        limit = self.retry.max_response_bytes
        async with self._client.stream(
            method, url, headers=headers, params=params, json=body if body is not None else None
        ) as response:
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise ResponseShapeError(
                    f"response from {_display(url)} is {int(declared):,} bytes, over the "
                    f"{limit:,}-byte limit; ask for smaller pages (page_size)",
                    source=source,
                    url=url,
                )
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise ResponseShapeError(
                        f"response from {_display(url)} exceeded the {limit:,}-byte limit; "
                        "ask for smaller pages (page_size)",
                        source=source,
                        url=url,
                    )
                chunks.append(chunk)
            headers_out = {k.lower(): v for k, v in response.headers.items()}
            return response.status_code, headers_out, b"".join(chunks), str(response.url)

    def _parse(
        self, status: int, headers: dict[str, str], content: bytes, url: str, source: str | None
    ) -> HttpResponse:
        if status >= 400:
            message = upstream_message(content.decode("utf-8", "replace"))
            retry_after = parse_retry_after(headers.get("retry-after"), self.retry.retry_after_cap)
            error = UpstreamStatusError(
                f"upstream answered {status} for {_display(url)}: {message or '(empty body)'}",
                status=status,
                source=source,
                url=url,
                retry_after=retry_after,
            )
            if status in RETRYABLE_STATUSES:
                raise _Retryable(str(status), retry_after, error)
            raise error
        if status == 204 or not content.strip():
            body: Any = None
        else:
            try:
                body = json.loads(content)
            except ValueError:
                kind = headers.get("content-type", "unknown content type")
                error = ResponseShapeError(
                    f"response from {_display(url)} is not JSON ({kind}, {len(content)} bytes, starts "
                    f"{content[:60].decode('utf-8', 'replace')!r})",
                    source=source,
                    url=url,
                )
                raise _Retryable("invalid JSON", final=error) from None
        links = {}
        if "link" in headers:
            parsed = httpx2.Response(status, headers={"link": headers["link"]}).links
            links = {rel: urljoin(url, item["url"]) for rel, item in parsed.items() if item.get("url")}
        return HttpResponse(status=status, headers=headers, body=body, url=url, links=links)


def _display(url: str) -> str:
    """The URL without its query string (which may carry keys) for messages."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
