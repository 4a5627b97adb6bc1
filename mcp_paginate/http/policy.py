"""Where requests of one session may go: `OriginPolicy`.

The source's own origin, the configured ``allowed_hosts``, and, for ad-hoc requests, never a
private, loopback or link-local address unless that host is listed explicitly by address
(checked before the request by resolving the name, and again on the connected peer's address,
against DNS rebinding). Before a request leaves the home origin, credential headers are
dropped (`OriginPolicy.strip_credentials`) and a secret in its URL, query or body refuses it
(`OriginPolicy.refuse_secrets`): redirects and next links go through both.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mcp_paginate.credentials import looks_like_credential
from mcp_paginate.errors import HostNotAllowedError, InputError
from mcp_paginate.http.urls import display_url, host_port, netloc, origin_of, split_url
from mcp_paginate.redaction import Redactor

__all__ = ["CREDENTIAL_HEADERS", "OriginPolicy", "is_credential", "is_internal"]

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
"""Well-known credential headers (`looks_like_credential` finds these and more by their words)."""
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_credential(name: str, extra: Iterable[str] = ()) -> bool:
    """Whether a header may carry a credential: a well-known one, one of ``extra`` (lower-case
    names), or a name that `looks_like_credential`."""
    lowered = name.lower()
    return lowered in CREDENTIAL_HEADERS or lowered in extra or looks_like_credential(lowered)


def _is_https_upgrade(home: str, url: str) -> bool:
    """``http://host[:80]`` → ``https://host[:443]``: the same server, made safer."""
    home_parts, target_parts = urlsplit(home), urlsplit(url)
    return (
        home_parts.scheme == "http"
        and target_parts.scheme.lower() == "https"
        and home_parts.hostname == (target_parts.hostname or "").lower()
        and (home_parts.port or 80) == 80
        and host_port(url)[1] == 443
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
            host, port = host_port(url)
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
            parts, host, port = split_url(url)
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
                f"refusing to follow a link to {netloc(host, port)}: it is outside the source's origin "
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
            parts, host, port = split_url(url)
        except InputError as exc:
            raise HostNotAllowedError(str(exc), source=source) from None
        if parts.scheme.lower() not in {"http", "https"} or not host:
            raise HostNotAllowedError(
                f"ad-hoc request.url must be an absolute http(s) URL, not {display_url(url)!r}", source=source
            )
        if not self.host_listed(url):
            allowed = ", ".join(self.allowed_hosts) or "none"
            raise HostNotAllowedError(
                f"ad-hoc requests may only reach server.allowed_hosts (now: {allowed}); "
                f"{netloc(host, port)} is not listed. Use a configured source (see list_sources) or ask "
                "the user to add the host.",
                source=source,
            )
        self._check_address(url, source)

    def _explicitly_listed(self, url: str) -> bool:
        """Listed by address (or as ``localhost``): the operator meant this internal host."""
        host, _ = host_port(url)
        return self.host_listed(url) and (_parse_address(host) is not None or host == "localhost")

    def _check_address(self, url: str, source: str | None) -> None:
        if self.allow_private_networks or self._explicitly_listed(url):
            return
        host, port = host_port(url)
        literal = _parse_address(host)
        addresses = [literal] if literal is not None else _resolve(host, port)
        for address in addresses:
            if is_internal(address):
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
        if address is not None and is_internal(address):
            host, _ = host_port(url)
            raise HostNotAllowedError(
                f"refusing the answer from {host}: the connection went to the internal address {address}",
                source=source,
            )

    def strip_credentials(self, headers: dict[str, str]) -> dict[str, str]:
        """The headers without anything that may carry a credential."""
        return {k: v for k, v in headers.items() if not is_credential(k, self.secret_headers)}

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
            host, port = host_port(url)
            raise HostNotAllowedError(
                f"refusing to send a request to {netloc(host, port)}: its {' and '.join(carried)} would "
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


def is_internal(address: Address) -> bool:
    """Loopback, private, link-local, shared, reserved, multicast or unspecified (IPv4 or IPv6)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and is_internal(embedded):
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
