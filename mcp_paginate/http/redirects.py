"""Redirects, split at their spec seams (RFC 9110 §15.4) as httpx's ``_build_redirect_request``
is: where the next request goes (`redirect_url`), with which method (`redirect_method`) and body
(`redirect_body`), and what may go with it to another origin (`redirect_headers`).

Unlike httpx, a redirect is followed only where the `OriginPolicy` allows; leaving the home
origin drops every credential header, and refuses a URL that carries a secret or a body that
would be re-sent there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from mcp_paginate.errors import HostNotAllowedError
from mcp_paginate.http.policy import OriginPolicy
from mcp_paginate.http.urls import display_url, origin_of
from mcp_paginate.redaction import Redactor

__all__ = [
    "MAX_REDIRECTS",
    "REDIRECT_STATUSES",
    "Outgoing",
    "build_redirect",
    "is_redirect",
    "redirect_body",
    "redirect_headers",
    "redirect_method",
    "redirect_url",
]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Outgoing:
    """One request as it goes on the wire: what a redirect rewrites."""

    method: str
    url: str
    headers: dict[str, str]
    params: dict[str, str] | None
    body: Any


def is_redirect(status: int, headers: dict[str, str]) -> bool:
    """A redirect status with a ``Location`` to follow (``headers`` have lower-case names)."""
    return status in REDIRECT_STATUSES and "location" in headers


def redirect_url(response_url: str, location: str, *, source: str | None = None) -> str:
    """``Location`` resolved against the URL that answered (RFC 9110 §10.2.2).

    Raises:
        HostNotAllowedError: the location is not a valid URL.
    """
    try:
        return urljoin(response_url, location)
    except ValueError:
        raise HostNotAllowedError(
            f"{display_url(response_url)} redirected to an invalid URL", source=source
        ) from None


def redirect_method(status: int, method: str) -> str:
    """303 See Other is followed with GET; 301 and 302 turn any other method into GET too (what
    user agents do, RFC 9110 §15.4.2-3); 307 and 308 keep the method."""
    if status == 303 or (status in {301, 302} and method != "GET"):
        return "GET"
    return method


def redirect_body(status: int, method: str, body: Any) -> Any:
    """The body to send again: none once the redirect makes the request a GET (`redirect_method`)."""
    if status == 303 or (status in {301, 302} and method != "GET"):
        return None
    return body


def redirect_headers(
    outgoing: Outgoing, target: str, policy: OriginPolicy, redactor: Redactor, *, source: str | None = None
) -> dict[str, str]:
    """The headers to send to ``target``: all of them within the home origin; leaving it, none that
    may carry a credential, and only if neither the URL nor a body would carry a secret there.

    Raises:
        HostNotAllowedError: the policy forbids ``target``, its URL would carry a secret, or the
            request (``outgoing``, after `redirect_method`/`redirect_body`) has a body.
    """
    if not policy.check(target, source=source):
        return outgoing.headers
    headers = policy.strip_credentials(outgoing.headers)
    policy.refuse_secrets(target, None, None, redactor, source=source)
    if outgoing.body is not None:
        raise HostNotAllowedError(
            f"{display_url(outgoing.url)} redirected a {outgoing.method} to another origin "
            f"({origin_of(target)}); refusing to send the request body there",
            source=source,
        )
    return headers


def build_redirect(
    outgoing: Outgoing,
    status: int,
    response_url: str,
    location: str,
    policy: OriginPolicy,
    redactor: Redactor,
    *,
    source: str | None = None,
) -> Outgoing:
    """The request that follows a redirect answer to ``outgoing`` (its query is in ``location``).

    Raises:
        HostNotAllowedError: the redirect may not be followed (see `redirect_headers`).
    """
    target = redirect_url(response_url, location, source=source)
    rewritten = Outgoing(
        method=redirect_method(status, outgoing.method),
        url=response_url,
        headers=outgoing.headers,
        params=None,
        body=redirect_body(status, outgoing.method, outgoing.body),
    )
    headers = redirect_headers(rewritten, target, policy, redactor, source=source)
    return Outgoing(rewritten.method, target, headers, None, rewritten.body)
