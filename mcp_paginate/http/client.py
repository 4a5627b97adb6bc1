"""The client: `HttpClient.send` sends a `PreparedRequest` with

- retries with exponential backoff and full jitter on 408, 429, 500/502/503/504, connection
  errors, timeouts and truncated or non-JSON bodies; ``Retry-After`` honoured in both
  seconds and HTTP-date forms, capped; what was retried and waited is kept in a `RequestLog`
  (for the result's notes) and named in the final error when retries run out (`retries`);
- a time limit on each attempt as a whole (not only between bytes), so a server that drips
  its answer cannot hold a request open;
- a cap on the bytes read from a response (the body is streamed and abandoned past it);
- redirects followed only where the `OriginPolicy` allows (`redirects`);
- no cookie jar: a ``Set-Cookie`` from one API is never sent anywhere (the client is shared
  by every source and caller);
- transport exceptions translated to `mcp_paginate.errors` (``raise ... from exc``); a request
  that cannot even be sent (bad URL, non-ASCII header) is an input error, never retried.
"""

from __future__ import annotations

import contextlib
import re
import ssl
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookiejar import Cookie, CookieJar
from typing import Any

import anyio
import httpx2

from mcp_paginate.errors import (
    InputError,
    PaginateError,
    ResponseShapeError,
    TransportError,
    UpstreamStatusError,
)
from mcp_paginate.http.bodies import MAX_DEPTH, TooDeepError, load_json, parse_links
from mcp_paginate.http.messages import upstream_message
from mcp_paginate.http.policy import OriginPolicy
from mcp_paginate.http.redirects import MAX_REDIRECTS, Outgoing, build_redirect, is_redirect
from mcp_paginate.http.retries import (
    RETRYABLE_STATUSES,
    RequestLog,
    Retryable,
    RetryPolicy,
    parse_retry_after,
)
from mcp_paginate.http.urls import display_url
from mcp_paginate.http.wire import build_request, on_sent
from mcp_paginate.paginators import PreparedRequest
from mcp_paginate.redaction import Redactor

__all__ = ["HttpClient", "HttpResponse"]

_SECRET_MARKER = re.compile(r"\{secret:([A-Za-z_][A-Za-z0-9_]*)")
_START_BYTES = 65536  # of a body that is not JSON, decoded to quote its start (secrets masked whole)


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
            except UpstreamStatusError as refused:
                if refused.status in (401, 403):
                    self._name_credentials(refused, request)
                raise
            except Retryable as problem:
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

    def _name_credentials(self, error: UpstreamStatusError, request: PreparedRequest) -> None:
        """The next step after a refused key (Alloy's 401): name the variables the request's
        credentials came from (names only, never values)."""
        sent = self.redactor.conceal(" ".join([*request.headers.values(), *request.query.values()]))
        names = sorted(set(_SECRET_MARKER.findall(sent)))
        if names:
            error.message = f"{error.message}; check {', '.join(names)} (the credentials this source sends)"
            error.args = (error.message,)

    async def _send_once(
        self,
        client: httpx2.AsyncClient,
        request: PreparedRequest,
        policy: OriginPolicy,
        source: str | None,
        sent: anyio.Event | None,
    ) -> HttpResponse:
        outgoing = Outgoing(
            method=request.method,
            url=request.url,
            headers=dict(request.headers),
            params=request.query or None,
            body=request.body,
        )
        for _ in range(MAX_REDIRECTS + 1):
            raw = await self._attempt(client, outgoing, policy, source, sent)
            if not is_redirect(raw.status, raw.headers):
                return self._parse(raw, source)
            outgoing = build_redirect(
                outgoing, raw.status, raw.url, raw.headers["location"], policy, self.redactor, source=source
            )
        raise TransportError(f"too many redirects from {display_url(request.url)}", source=source)

    async def _attempt(
        self,
        client: httpx2.AsyncClient,
        outgoing: Outgoing,
        policy: OriginPolicy,
        source: str | None,
        sent: anyio.Event | None = None,
    ) -> _Raw:
        """One HTTP exchange, translated: transient failures become `Retryable`."""
        url = outgoing.url
        try:
            request = build_request(
                client,
                outgoing.method,
                url,
                outgoing.headers,
                outgoing.params,
                outgoing.body,
                None if sent is None or sent.is_set() else {"trace": on_sent(sent)},
            )
        except UnicodeEncodeError:
            raise InputError(
                f"cannot send the request to {display_url(url)}: header names and values must be ASCII",
                source=source,
            ) from None
        except (httpx2.InvalidURL, TypeError, ValueError) as exc:  # bad URL, a body JSON cannot encode
            raise InputError(f"cannot send the request to {display_url(url)}: {exc}", source=source) from None
        timeout = self.retry.timeout
        try:
            with anyio.move_on_after(timeout) as scope:
                return await self._exchange(client, request, policy, source)
        except httpx2.TimeoutException as exc:
            error: PaginateError = TransportError(f"request to {display_url(url)} timed out", source=source)
            raise Retryable("timeout", error) from exc
        except (httpx2.LocalProtocolError, httpx2.UnsupportedProtocol, httpx2.InvalidURL) as exc:
            raise InputError(f"cannot send the request to {display_url(url)}: {exc}", source=source) from None
        except httpx2.TransportError as exc:
            error = TransportError(f"could not reach {display_url(url)}: {type(exc).__name__}", source=source)
            raise Retryable("connection error", error) from exc
        except httpx2.DecodingError as exc:
            error = ResponseShapeError(
                f"the response from {display_url(url)} could not be decoded ({exc})", source=source, url=url
            )
            raise Retryable("undecodable body", error) from exc
        except httpx2.HTTPError as exc:
            raise TransportError(
                f"request to {display_url(url)} failed: {type(exc).__name__}", source=source
            ) from exc
        assert scope.cancelled_caught
        error = TransportError(f"request to {display_url(url)} took longer than {timeout:g}s", source=source)
        raise Retryable("timeout", error)

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
                    f"response from {display_url(url)} is {int(declared):,} bytes, over the "
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
                        f"response from {display_url(url)} exceeded the {limit:,}-byte limit "
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
            said = upstream_message(content.decode("utf-8", "replace"), self.redactor) or "(empty body)"
            retry_after = parse_retry_after(headers.get("retry-after"), self.retry.retry_after_cap)
            error: PaginateError = UpstreamStatusError(
                f"upstream answered {status} for {display_url(url)}: {said}",
                status=status,
                source=source,
                url=url,
                retry_after=retry_after,
                said=said,
            )
            if status in RETRYABLE_STATUSES:
                raise Retryable(str(status), error, retry_after)
            raise error
        if status == 204 or not content.strip():
            body: Any = None
        else:
            try:
                body = load_json(content)
            except (TooDeepError, RecursionError):
                # Not a transient fault: asking again gets the same body.
                raise ResponseShapeError(
                    f"the response from {display_url(url)} is nested more than {MAX_DEPTH} levels deep, "
                    "deeper than a tool result can carry (the JSON under every MCP message stops there); "
                    "this endpoint cannot be paged through mcp-paginate",
                    source=source,
                    url=url,
                ) from None
            except ValueError:
                kind = headers.get("content-type", "unknown content type")
                start = self.redactor.shorten(content[:_START_BYTES].decode("utf-8", "replace"), 60)
                error = ResponseShapeError(
                    f"response from {display_url(url)} is not JSON ({kind}, {len(content):,} bytes, starts "
                    f"{start!r})",
                    source=source,
                    url=url,
                )
                raise Retryable("invalid JSON", error) from None
        return HttpResponse(
            status=status,
            headers=headers,
            body=body,
            url=url,
            links=parse_links(headers, url),
            content=content,
        )
