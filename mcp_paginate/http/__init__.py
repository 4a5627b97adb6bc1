"""The one place where HTTP is done.

- `client`: `HttpClient.send` sends a `PreparedRequest`: retries, time and size limits, no
  cookie jar, transport errors translated to `mcp_paginate.errors`;
- `retries`: `RetryPolicy`, ``Retry-After``, the `RequestLog` of what was retried;
- `redirects`: where a redirect goes, with which method, body and headers;
- `policy`: `OriginPolicy`, where requests of a session may go (origins, allowed hosts,
  internal addresses, credentials and secrets kept at home);
- `wire`: the `httpx2.Request` built from method, URL, headers, query and JSON body;
- `bodies`: JSON bodies and RFC 8288 ``Link`` headers parsed;
- `messages`: upstream error bodies as short, masked, one-line messages;
- `urls`: origins, and URLs as messages show them.

Example::

    client = HttpClient(RetryPolicy(retries=2, timeout=10))
    response = await client.send(request, OriginPolicy(home=origin_of(request.url)), pool="alloy")
    await client.aclose()
"""

from __future__ import annotations

from mcp_paginate.http.bodies import MAX_DEPTH, TooDeepError, load_json, parse_links
from mcp_paginate.http.client import HttpClient, HttpResponse
from mcp_paginate.http.messages import upstream_message
from mcp_paginate.http.policy import CREDENTIAL_HEADERS, OriginPolicy
from mcp_paginate.http.retries import RETRYABLE_STATUSES, RequestLog, RetryPolicy, parse_retry_after
from mcp_paginate.http.urls import display_url, origin_of
from mcp_paginate.http.wire import build_request

__all__ = [
    "CREDENTIAL_HEADERS",
    "MAX_DEPTH",
    "RETRYABLE_STATUSES",
    "HttpClient",
    "HttpResponse",
    "OriginPolicy",
    "RequestLog",
    "RetryPolicy",
    "TooDeepError",
    "build_request",
    "display_url",
    "load_json",
    "origin_of",
    "parse_links",
    "parse_retry_after",
    "upstream_message",
]
