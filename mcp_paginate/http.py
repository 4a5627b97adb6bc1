"""The one place where HTTP is done.

`HttpClient.send` sends a `PreparedRequest` with:

- retries with exponential backoff and full jitter on 408, 429, 500/502/503/504, connection
  errors, timeouts and truncated or non-JSON bodies; ``Retry-After`` honoured in both
  seconds and HTTP-date forms, capped; what was retried and waited is kept in a `RequestLog`
  (for the result's notes) and named in the final error when retries run out;
- a time limit on each attempt as a whole (not only between bytes), so a server that drips
  its answer cannot hold a request open;
- a cap on the bytes read from a response (the body is streamed and abandoned past it);
- redirects followed only where `OriginPolicy` allows, with credentials dropped when the
  origin changes, never a request body re-sent to another origin, and no URL carrying a
  secret sent there (`OriginPolicy.refuse_secrets`, which next-links go through too);
- no cookie jar: a ``Set-Cookie`` from one API is never sent anywhere (the client is shared
  by every source and caller);
- transport exceptions translated to `mcp_paginate.errors` (``raise ... from exc``); a request
  that cannot even be sent (bad URL, non-ASCII header) is an input error, never retried.

`OriginPolicy` decides where requests may go: the source's own origin, the configured
``allowed_hosts``, and, for ad-hoc requests, never a private, loopback or link-local
address unless that host is listed explicitly by address (checked before the request by
resolving the name, and again on the connected peer's address, against DNS rebinding).
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import ipaddress
import json
import math
import random
import re
import socket
import ssl
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from http.cookiejar import Cookie, CookieJar
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit

import anyio
import httpx2
import pydantic_core

from mcp_paginate.errors import (
    HostNotAllowedError,
    InputError,
    PaginateError,
    ResponseShapeError,
    TransportError,
    UpstreamStatusError,
)
from mcp_paginate.paginators import PreparedRequest
from mcp_paginate.redaction import Redactor

__all__ = [
    "CREDENTIAL_HEADERS",
    "RETRYABLE_STATUSES",
    "HttpClient",
    "HttpResponse",
    "OriginPolicy",
    "RequestLog",
    "RetryPolicy",
    "origin_of",
    "parse_retry_after",
    "upstream_message",
]

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "x-api-key",
        "api-key",
        "apikey",
        "x-auth-token",
        "x-access-token",
        "x-csrf-token",
    }
)
_CREDENTIAL_WORDS = (
    "token",
    "secret",
    "api-key",
    "api_key",
    "apikey",
    "auth",
    "cookie",
    "session",
    "password",
)
_MAX_REDIRECTS = 5
_UPSTREAM_MESSAGE_CHARS = 300
_START_BYTES = 65536  # of a body that is not JSON, decoded to quote its start (secrets masked whole)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@functools.lru_cache(maxsize=1024)
def _split(url: str) -> tuple[SplitResult, str, int]:
    """``urlsplit`` plus the lower-cased host and the port (default made explicit); remembered,
    as every request of a source checks the same URL (its query parameters are kept apart).

    Raises:
        InputError: the URL cannot be parsed (bad IPv6 brackets, port out of range...).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"{_display(url)!r} is not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    return parts, (parts.hostname or "").lower(), port or (443 if scheme == "https" else 80)


def origin_of(url: str) -> str:
    """``scheme://host:port`` with the default port made explicit.

    Raises:
        InputError: the URL cannot be parsed.
    """
    parts, host, port = _split(url)
    return f"{parts.scheme.lower()}://{host}:{port}"


def _host_port(url: str) -> tuple[str, int]:
    _, host, port = _split(url)
    return host, port


def _is_credential(name: str, extra: Iterable[str]) -> bool:
    lowered = name.lower()
    return (
        lowered in CREDENTIAL_HEADERS
        or lowered in extra
        or any(word in lowered for word in _CREDENTIAL_WORDS)
    )


def _is_https_upgrade(home: str, url: str) -> bool:
    """``http://host[:80]`` → ``https://host[:443]``: the same server, made safer."""
    home_parts, target_parts = urlsplit(home), urlsplit(url)
    return (
        home_parts.scheme == "http"
        and target_parts.scheme.lower() == "https"
        and home_parts.hostname == (target_parts.hostname or "").lower()
        and (home_parts.port or 80) == 80
        and _host_port(url)[1] == 443
    )


@dataclass(frozen=True)
class OriginPolicy:
    """Where requests of one session may go.

    ``home`` is the origin of the session's first request; ``allowed_hosts`` are
    ``host`` or ``host:port`` entries from the config. ``ad_hoc`` sessions are
    additionally refused private/loopback/link-local addresses unless the host is
    listed by address (or ``allow_private_networks`` is set). ``secret_headers`` are
    header names (lower case) whose values are secrets: they, and every header that
    looks like a credential, are dropped before a request leaves the home origin.

    Example::

        policy = OriginPolicy(home=origin_of(url), allowed_hosts=("api.example.com",))
        if policy.check(next_link):          # raises HostNotAllowedError if it may not go there
            headers = policy.strip_credentials(headers)
    """

    home: str
    allowed_hosts: tuple[str, ...] = ()
    ad_hoc: bool = False
    allow_private_networks: bool = False
    secret_headers: frozenset[str] = frozenset()

    def host_listed(self, url: str) -> bool:
        """Whether the URL's host (and port) is in ``allowed_hosts``."""
        try:
            host, port = _host_port(url)
        except InputError:
            return False
        for raw in self.allowed_hosts:
            entry = raw.lower().strip()
            if "://" in entry:
                entry = urlsplit(entry).netloc
            entry = entry.rstrip("/")
            if entry.startswith("["):  # [::1]:8080
                name, _, rest = entry[1:].partition("]")
                entry_port = rest.lstrip(":")
            elif entry.count(":") == 1:
                name, entry_port = entry.split(":")
            else:
                name, entry_port = entry, ""  # a bare name, or a bare IPv6 address
            if _same_host(name, host) and (not entry_port or entry_port == str(port)):
                return True
        return False

    def check(self, url: str, *, source: str | None = None) -> bool:
        """Raise if url may not be requested; return True if credentials must be dropped.

        Raises:
            HostNotAllowedError: not http(s), or outside the home origin and ``allowed_hosts``
                (or, for ad-hoc sessions, an allowed host on an internal address).
        """
        try:
            parts, host, port = _split(url)
        except InputError as exc:
            raise HostNotAllowedError(f"refusing to follow a link: {exc}", source=source) from None
        if parts.scheme.lower() not in {"http", "https"} or not host:
            raise HostNotAllowedError(
                f"refusing {parts.scheme or 'relative'} URL: only absolute http(s) URLs can be requested",
                source=source,
            )
        if origin_of(url) == self.home or _is_https_upgrade(self.home, url):
            return False  # the home origin was checked when the session started
        if not self.host_listed(url):
            raise HostNotAllowedError(
                f"refusing to follow a link to {_netloc(host, port)}: it is outside the source's origin "
                f"({self.home}) and not in server.allowed_hosts",
                source=source,
            )
        if self.ad_hoc:
            self._check_address(url, source)
        return True

    def check_start(self, url: str, *, source: str | None = None) -> None:
        """An ad-hoc request's first URL must be an http(s) URL on an allowed host, not internal.

        Raises:
            HostNotAllowedError: otherwise (no connection is attempted).
        """
        try:
            parts, host, port = _split(url)
        except InputError as exc:
            raise HostNotAllowedError(str(exc), source=source) from None
        if parts.scheme.lower() not in {"http", "https"} or not host:
            raise HostNotAllowedError(
                f"ad-hoc request.url must be an absolute http(s) URL, not {_display(url)!r}", source=source
            )
        if not self.host_listed(url):
            allowed = ", ".join(self.allowed_hosts) or "none"
            raise HostNotAllowedError(
                f"ad-hoc requests may only reach server.allowed_hosts (now: {allowed}); "
                f"{_netloc(host, port)} is not listed. Use a configured source (see list_sources) or ask "
                "the user to add the host.",
                source=source,
            )
        self._check_address(url, source)

    def _explicitly_listed(self, url: str) -> bool:
        """Listed by address (or as ``localhost``): the operator meant this internal host."""
        host, _ = _host_port(url)
        return self.host_listed(url) and (_parse_address(host) is not None or host == "localhost")

    def _check_address(self, url: str, source: str | None) -> None:
        if self.allow_private_networks or self._explicitly_listed(url):
            return
        host, port = _host_port(url)
        literal = _parse_address(host)
        addresses = [literal] if literal is not None else _resolve(host, port)
        for address in addresses:
            if _is_internal(address):
                raise HostNotAllowedError(
                    f"refusing {host}: it resolves to the internal address {address}; list it by address in "
                    "server.allowed_hosts, or set server.allow_private_networks, to allow it",
                    source=source,
                )

    def check_peer(self, url: str, peer: str | None, *, source: str | None = None) -> None:
        """After connecting: an ad-hoc request must not have reached an internal address.

        The name was checked before the request, but DNS may answer differently the
        second time (rebinding); this checks the address actually connected to.

        Raises:
            HostNotAllowedError: the peer is internal and the host was not explicitly allowed.
        """
        if not self.ad_hoc or peer is None or self.allow_private_networks or self._explicitly_listed(url):
            return
        address = _parse_address(peer.split("%")[0])
        if address is not None and _is_internal(address):
            host, _ = _host_port(url)
            raise HostNotAllowedError(
                f"refusing the answer from {host}: the connection went to the internal address {address}",
                source=source,
            )

    def strip_credentials(self, headers: dict[str, str]) -> dict[str, str]:
        """The headers without anything that may carry a credential."""
        return {k: v for k, v in headers.items() if not _is_credential(k, self.secret_headers)}

    def refuse_secrets(
        self,
        url: str,
        query: Mapping[str, str] | None,
        body: Any,
        redactor: Redactor,
        *,
        source: str | None = None,
    ) -> None:
        """Before a request leaves the home origin: fail closed if a secret, in any form, is in
        its URL, query or body. Credential headers can be dropped (`strip_credentials`); a key an
        API copied into a next link or redirect, or a body holding one, cannot.

        Raises:
            HostNotAllowedError: a secret would go to another origin (nothing is sent).
        """
        carried = []
        if redactor.found(url) or any(redactor.found(f"{k}={v}") for k, v in (query or {}).items()):
            carried.append("URL")
        if body is not None and redactor.found(json.dumps(body, ensure_ascii=False, default=str)):
            carried.append("body")
        if carried:
            host, port = _host_port(url)
            raise HostNotAllowedError(
                f"refusing to send a request to {_netloc(host, port)}: its {' and '.join(carried)} would "
                f"carry a secret of this source to another origin than {self.home} (credentials are never "
                "sent elsewhere). The pages read so far are kept; to page past here, the source must send "
                "its key in a header (headers are dropped for other origins), not in the query or body",
                source=source,
            )


def _same_host(entry: str, host: str) -> bool:
    if entry == host:
        return True
    entry_address, host_address = _parse_address(entry), _parse_address(host)
    return entry_address is not None and entry_address == host_address


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _parse_address(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _resolve(host: str, port: int) -> list[Address]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError, ValueError):
        return []  # the request itself fails with a clear error, and the peer is checked too
    found = []
    for info in infos:
        address = _parse_address(str(info[4][0]).split("%")[0])
        if address is not None:
            found.append(address)
    return found


def _is_internal(address: Address) -> bool:
    """Loopback, private, link-local, shared, reserved, multicast or unspecified (IPv4 or IPv6)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and _is_internal(embedded):
            return True
        if address.teredo is not None:
            return True
        if address.is_site_local:
            return True
    elif address in _SHARED_ADDRESS_SPACE:
        return True
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or not address.is_global
    )


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
class HttpResponse:
    """A parsed JSON response."""

    status: int
    headers: dict[str, str]
    body: Any
    url: str
    links: dict[str, str] = field(default_factory=dict)
    content: bytes = b""
    """The body as received (`Redactor.found_in` tests it before records leave the server)."""


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


class _Retryable(Exception):
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


def upstream_message(text: str, redactor: Redactor | None = None) -> str:
    """A short, single-line excerpt of an upstream error body, its secrets masked before it is cut
    (a key the cut went through would otherwise show in part, where no redaction finds it)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict):
        for key in ("error_description", "message", "error", "detail", "title", "errors"):
            if data.get(key):
                value = data[key]
                if isinstance(value, dict) and isinstance(value.get("message"), str):
                    value = value["message"]
                text = value if isinstance(value, str) else json.dumps(value, default=str)
                break
    return (redactor or Redactor()).shorten(" ".join(text.split()), _UPSTREAM_MESSAGE_CHARS)


class _NoCookies(CookieJar):
    """A cookie jar that keeps nothing: one API's cookies must never reach another (or another caller)."""

    def set_cookie(self, cookie: Cookie) -> None:
        return None

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


@dataclass
class _Raw:
    status: int
    headers: dict[str, str]
    content: bytes
    url: str


class HttpClient:
    """Pooled async HTTP clients: keep-alive connections, one pool per source (``pool``).

    A pool checks each of its idle connections on every request it makes (is the socket
    still open?), so the cost of a request grows with the idle connections in its pool. One
    pool per source keeps a chain of requests (one connection) from paying for the idle
    connections another source's concurrent fetch left behind; each pool keeps at most as
    many idle connections as its source may have requests in flight (``keepalive``).

    Example::

        client = HttpClient(RetryPolicy(retries=2, timeout=10))
        response = await client.send(request, OriginPolicy(home=origin_of(request.url)), pool="alloy")
        await client.aclose()
    """

    def __init__(
        self,
        retry: RetryPolicy | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.redactor = redactor or Redactor()  # masks secrets in upstream text before it is cut
        self._transport = transport  # one given (tests): a single client around it
        self._clients: dict[str, httpx2.AsyncClient] = {}
        # Shared by the pools, and made now: loading the CA certificates takes tens of milliseconds,
        # which a source's first request (inside its throttle slot) should not wait for.
        self._tls: ssl.SSLContext | None = httpx2.create_ssl_context() if transport is None else None
        self._peers: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    def _client(self, pool: str, keepalive: int) -> httpx2.AsyncClient:
        key = "" if self._transport is not None else pool
        client = self._clients.get(key)
        if client is None:
            client = httpx2.AsyncClient(
                timeout=httpx2.Timeout(self.retry.timeout),
                follow_redirects=False,
                limits=httpx2.Limits(
                    max_connections=64, max_keepalive_connections=max(1, keepalive), keepalive_expiry=30.0
                ),
                transport=self._transport,
                verify=self._tls or True,
                trust_env=False,  # no proxies or .netrc credentials from the environment
                cookies=_NoCookies(),
                headers={"User-Agent": "mcp-paginate"},
            )
            self._clients[key] = client
        return client

    def _peer(self, network: Any) -> Any:
        """The address a connection reached, read once per connection (a pooled connection is
        reused page after page, and asking the socket builds all its attributes each time)."""
        if network is None:
            return None
        try:
            return self._peers[network]
        except (KeyError, TypeError):
            peer = network.get_extra_info("server_addr")
        with contextlib.suppress(TypeError):  # not weak-referenceable: simply not remembered
            self._peers[network] = peer
        return peer

    async def send(
        self,
        request: PreparedRequest,
        policy: OriginPolicy,
        *,
        source: str | None = None,
        log: RequestLog | None = None,
        on_rate_limited: Callable[[], None] | None = None,
        sent: anyio.Event | None = None,
        pool: str = "",
        keepalive: int = 4,
    ) -> HttpResponse:
        """Send with retries; return the parsed JSON response. ``sent`` is set as soon as the
        first attempt's request is written to the connection, before its response arrives.
        ``pool`` names the connection pool (one per source), created on first use with at most
        ``keepalive`` idle connections.

        Raises:
            UpstreamStatusError: a non-2xx status that is not transient, or still failing after retries.
            ResponseShapeError: the body is not JSON after retries, or is over max_response_bytes.
            TransportError: the API could not be reached (or kept timing out) after retries.
            HostNotAllowedError: a redirect leads where the policy forbids.
            InputError: the request cannot be sent at all (invalid URL, header or body).
        """
        log = log or RequestLog()
        client = self._client(pool, keepalive)
        attempt = 0
        while True:
            log.requests += 1
            try:
                return await self._send_once(client, request, policy, source, sent)
            except _Retryable as problem:
                if attempt >= self.retry.retries:
                    final = problem.final
                    if log.retries:
                        final.message = (
                            f"{final.message} (gave up after {log.requests} attempts; {log.summary()})"
                        )
                        final.args = (final.message,)
                    raise final from None
                if problem.reason == "429" and on_rate_limited is not None:
                    on_rate_limited()
                wait = problem.retry_after if problem.retry_after is not None else self.retry.backoff(attempt)
                attempt += 1
                log.retries += 1
                log.waited += wait
                log.reasons.append(problem.reason)
                await anyio.sleep(wait)

    async def _send_once(
        self,
        client: httpx2.AsyncClient,
        request: PreparedRequest,
        policy: OriginPolicy,
        source: str | None,
        sent: anyio.Event | None,
    ) -> HttpResponse:
        url, method = request.url, request.method
        headers = dict(request.headers)
        body = request.body
        params: dict[str, str] | None = request.query or None
        for _ in range(_MAX_REDIRECTS + 1):
            raw = await self._attempt(client, method, url, headers, params, body, policy, source, sent)
            if raw.status in {301, 302, 303, 307, 308} and "location" in raw.headers:
                try:
                    target = urljoin(raw.url, raw.headers["location"])
                except ValueError:
                    raise HostNotAllowedError(
                        f"{_display(raw.url)} redirected to an invalid URL", source=source
                    ) from None
                if raw.status == 303 or (raw.status in {301, 302} and method != "GET"):
                    method, body = "GET", None
                if policy.check(target, source=source):
                    headers = policy.strip_credentials(headers)
                    policy.refuse_secrets(target, None, None, self.redactor, source=source)
                    if body is not None:
                        raise HostNotAllowedError(
                            f"{_display(raw.url)} redirected a {method} to another origin "
                            f"({origin_of(target)}); refusing to send the request body there",
                            source=source,
                        )
                url, params = target, None
                continue
            return self._parse(raw, source)
        raise TransportError(f"too many redirects from {_display(request.url)}", source=source)

    async def _attempt(
        self,
        client: httpx2.AsyncClient,
        method: str,
        url: str,
        headers: dict[str, str],
        params: dict[str, str] | None,
        body: Any,
        policy: OriginPolicy,
        source: str | None,
        sent: anyio.Event | None = None,
    ) -> _Raw:
        """One HTTP exchange, translated: transient failures become `_Retryable`."""
        try:
            request = _build_request(
                client,
                method,
                url,
                headers,
                params,
                body,
                None if sent is None or sent.is_set() else {"trace": _on_sent(sent)},
            )
        except UnicodeEncodeError:
            raise InputError(
                f"cannot send the request to {_display(url)}: header names and values must be ASCII",
                source=source,
            ) from None
        except (httpx2.InvalidURL, TypeError, ValueError) as exc:  # bad URL, a body JSON cannot encode
            raise InputError(f"cannot send the request to {_display(url)}: {exc}", source=source) from None
        timeout = self.retry.timeout
        try:
            with anyio.move_on_after(timeout) as scope:
                return await self._exchange(client, request, policy, source)
        except httpx2.TimeoutException as exc:
            error: PaginateError = TransportError(f"request to {_display(url)} timed out", source=source)
            raise _Retryable("timeout", error) from exc
        except (httpx2.LocalProtocolError, httpx2.UnsupportedProtocol, httpx2.InvalidURL) as exc:
            raise InputError(f"cannot send the request to {_display(url)}: {exc}", source=source) from None
        except httpx2.TransportError as exc:
            error = TransportError(f"could not reach {_display(url)}: {type(exc).__name__}", source=source)
            raise _Retryable("connection error", error) from exc
        except httpx2.DecodingError as exc:
            error = ResponseShapeError(
                f"the response from {_display(url)} could not be decoded ({exc})", source=source, url=url
            )
            raise _Retryable("undecodable body", error) from exc
        except httpx2.HTTPError as exc:
            raise TransportError(
                f"request to {_display(url)} failed: {type(exc).__name__}", source=source
            ) from exc
        assert scope.cancelled_caught
        error = TransportError(f"request to {_display(url)} took longer than {timeout:g}s", source=source)
        raise _Retryable("timeout", error)

    async def _exchange(
        self, client: httpx2.AsyncClient, request: httpx2.Request, policy: OriginPolicy, source: str | None
    ) -> _Raw:
        """Send, check where the connection went, and read at most max_response_bytes."""
        url = str(request.url)
        limit = self.retry.max_response_bytes
        response = await client.send(request, stream=True)
        try:
            peer = self._peer(response.extensions.get("network_stream"))
            policy.check_peer(url, str(peer[0]) if isinstance(peer, tuple) and peer else None, source=source)
            headers = {k.lower(): v for k, v in response.headers.items()}
            declared = headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise ResponseShapeError(
                    f"response from {_display(url)} is {int(declared):,} bytes, over the "
                    f"{limit:,}-byte limit (server.max_response_bytes); ask for smaller pages (page_size)",
                    source=source,
                    url=url,
                )
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise ResponseShapeError(
                        f"response from {_display(url)} exceeded the {limit:,}-byte limit "
                        "(server.max_response_bytes); stopped reading it. Ask for smaller pages (page_size)",
                        source=source,
                        url=url,
                    )
                chunks.append(chunk)
        finally:
            await response.aclose()
        return _Raw(response.status_code, headers, b"".join(chunks), str(response.url))

    def _parse(self, raw: _Raw, source: str | None) -> HttpResponse:
        status, headers, content, url = raw.status, raw.headers, raw.content, raw.url
        if status >= 400:
            message = upstream_message(content.decode("utf-8", "replace"), self.redactor)
            retry_after = parse_retry_after(headers.get("retry-after"), self.retry.retry_after_cap)
            error: PaginateError = UpstreamStatusError(
                f"upstream answered {status} for {_display(url)}: {message or '(empty body)'}",
                status=status,
                source=source,
                url=url,
                retry_after=retry_after,
            )
            if status in RETRYABLE_STATUSES:
                raise _Retryable(str(status), error, retry_after)
            raise error
        if status == 204 or not content.strip():
            body: Any = None
        else:
            try:
                body = _loads(content)
            except (TooDeepError, RecursionError):
                # Not a transient fault: asking again gets the same body.
                raise ResponseShapeError(
                    f"the response from {_display(url)} is nested more than {MAX_DEPTH} levels deep, "
                    "deeper than a tool result can carry (the JSON under every MCP message stops there); "
                    "this endpoint cannot be paged through mcp-paginate",
                    source=source,
                    url=url,
                ) from None
            except ValueError:
                kind = headers.get("content-type", "unknown content type")
                start = self.redactor.shorten(content[:_START_BYTES].decode("utf-8", "replace"), 60)
                error = ResponseShapeError(
                    f"response from {_display(url)} is not JSON ({kind}, {len(content):,} bytes, starts "
                    f"{start!r})",
                    source=source,
                    url=url,
                )
                raise _Retryable("invalid JSON", error) from None
        return HttpResponse(
            status=status, headers=headers, body=body, url=url, links=_links(headers, url), content=content
        )


_SENDS_BODY = frozenset({"POST", "PUT", "PATCH", "QUERY"})


def _build_request(
    client: httpx2.AsyncClient,
    method: str,
    url: str,
    headers: dict[str, str],
    params: dict[str, str] | None,
    body: Any,
    extensions: dict[str, Any] | None,
) -> httpx2.Request:
    """The request ``client.build_request(method, url, headers=, params=, json=body,
    extensions=)`` builds, header for header and byte for byte, for our clients (no base URL,
    query params or cookies of their own), at a fraction of its cost: it parses a URL without
    query params once, and merges the headers in one pass (a JSON POST, an Alloy page, takes
    about 16 µs instead of 80-150). A test holds it equal to ``build_request``, with one
    difference: ``params`` are merged into a query the URL already has instead of replacing it.

    Raises what ``build_request`` raises: ``httpx2.InvalidURL``, ``UnicodeEncodeError`` for a
    header that is not ASCII, ``TypeError``/``ValueError`` for a body JSON cannot encode.
    """
    method = method.upper()
    target = _parsed_url(url)
    if params:
        # Added to the URL's own query (a name in both takes the value in params): httpx2 would
        # replace that query, dropping a filter written into a source's url from every page.
        target = target.copy_merge_params(params) if target.query else httpx2.URL(url, params=params)
    # Client.build_request: the client's headers, each one the request sets replaced by it
    # (names and values in ASCII, as httpx2 encodes them).
    own = [(_ascii(key), _ascii(value)) for key, value in headers.items()]
    ours = {key.lower() for key, _ in own}
    merged = [(key, value) for key, value in client.headers.raw if key.lower() not in ours]
    merged.extend(own)
    present = {key.lower() for key, _ in merged}
    content = b""
    if body is not None:  # httpx2's JSON encoding, and the headers it adds unless already set
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
        if b"content-length" not in present and b"transfer-encoding" not in present:
            merged.append((b"Content-Length", str(len(content)).encode("ascii")))
            present.add(b"content-length")
        if b"content-type" not in present:
            merged.append((b"Content-Type", b"application/json"))
    auto = []  # Request._prepare: these go first
    if b"host" not in present and target.host:
        auto.append((b"Host", target.netloc))
    if method in _SENDS_BODY and b"content-length" not in present and b"transfer-encoding" not in present:
        auto.append((b"Content-Length", b"0"))
    request = httpx2.Request(
        method,
        target,
        headers=auto + merged,
        stream=httpx2.ByteStream(content),
        extensions={**(extensions or {}), "timeout": client.timeout.as_dict()},
    )
    request.read()
    return request


def _ascii(text: str | bytes) -> bytes:
    if isinstance(text, bytes):
        return text
    if not isinstance(text, str):
        raise TypeError(f"header names and values must be str, not {type(text).__name__}")
    return text.encode("ascii")


@functools.lru_cache(maxsize=1024)
def _parsed_url(url: str) -> httpx2.URL:
    return httpx2.URL(url)


def _on_sent(sent: anyio.Event) -> Callable[[str, dict[str, Any]], Awaitable[None]]:
    """An httpcore ``trace`` hook that sets ``sent`` once the request body is written."""

    async def trace(event: str, info: dict[str, Any]) -> None:
        if event.endswith("send_request_body.complete"):
            sent.set()

    return trace


def _loads(content: bytes) -> Any:
    """Parse a JSON body: with pydantic-core's parser (about twice as fast as ``json``), and with
    ``json`` for what only it accepts (a byte-order mark, lone surrogates, NaN), so the bodies
    that parse are those ``json.loads`` parses, with two exceptions:

    - a lone surrogate (``"\\ud800"``) is valid JSON but not text: no result or stored record
      could be written out as UTF-8 with it, so each one becomes U+FFFD, the replacement character;
    - a body nested more than `MAX_DEPTH` levels deep raises `TooDeepError`: a tool result
      cannot carry it (the serializer under every MCP message stops a little deeper).
    """
    try:
        return pydantic_core.from_json(content)  # it stops at MAX_DEPTH levels itself
    except ValueError:
        return _checked(json.loads(content))


MAX_DEPTH = 201
"""Deepest nesting of a response body: what pydantic-core's parser takes, arrays in arrays 201 deep."""


class TooDeepError(ValueError):
    """A JSON body nested more than `MAX_DEPTH` levels deep."""


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _checked(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings (keys too) replaced by U+FFFD, walked
    without recursion; raises `TooDeepError` past `MAX_DEPTH` levels."""

    def clean(text: str) -> str:
        return _LONE_SURROGATE.sub("\ufffd", text)

    if isinstance(value, str):
        return clean(value)
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise TooDeepError(f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    node[index] = clean(item)
                elif isinstance(item, list | dict):
                    pending.append((item, depth + 1))
        elif isinstance(node, dict):
            for key in [key for key in node if _LONE_SURROGATE.search(key)]:
                node[clean(key)] = node.pop(key)
            for key, item in node.items():
                if isinstance(item, str):
                    node[key] = clean(item)
                elif isinstance(item, list | dict):
                    pending.append((item, depth + 1))
    return value


def _links(headers: dict[str, str], url: str) -> dict[str, str]:
    """The RFC 8288 ``Link`` relations, resolved against the response URL (unusable ones left out).

    Relation types are case-insensitive and one link may carry several (``rel="next last"``):
    each becomes its own lower-case key, the first link to name it winning. (httpx2's parser
    keys ``rel="next last"`` as one relation and ignores ``REL=``, and paging then stopped early.)
    """
    value = headers.get("link")
    if not value:
        return {}
    links: dict[str, str] = {}
    for target, params in _link_values(value):
        for rel in params.get("rel", "").split():
            if rel.lower() not in links:
                with contextlib.suppress(ValueError):
                    links[rel.lower()] = urljoin(url, target)
    return links


_LINK_PARAM = re.compile(r'\s*;\s*([^\s=;,]+)\s*(?:=\s*(?:"((?:[^"\\]|\\.)*)"|([^;,\s]*)))?')


def _link_values(value: str) -> list[tuple[str, dict[str, str]]]:
    """``<target>; name=value; name="quoted, value", …`` as (target, params with lower-case names)."""
    found: list[tuple[str, dict[str, str]]] = []
    position = 0
    while (start := value.find("<", position)) >= 0:
        end = value.find(">", start)
        if end < 0:
            break
        params: dict[str, str] = {}
        position = end + 1
        while match := _LINK_PARAM.match(value, position):
            name, quoted, token = match.groups()
            text = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else (token or "")
            params.setdefault(name.lower(), text)
            position = match.end()
        found.append((value[start + 1 : end].strip(), params))
    return found


def _display(url: str) -> str:
    """The URL without its query string (which may carry keys) or user info, for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("?", 1)[0].rpartition("@")[2][:200]
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
