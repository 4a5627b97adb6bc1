"""An Alloy action's metadata: where it takes each parameter, fetched once and cached.

``GET /connectors/{connector}/actions/{action}`` lists ``action.parameters[*]`` with ``name`` and
``in`` (query, body, path). `prepare_pagination` reads it when an Alloy session starts whose
source does not fix the placement itself (``pagination.parameters`` in config), so that the
reference form puts the action's parameters and paging values where the action takes them.

The request goes through the app's HTTP client under the source's origin policy, with the
source's own headers (its key never leaves its origin, and is masked wherever text leaves the
server); answers are bounded (the client's size cap, `MAX_PARAMETERS`), and cached per metadata
URL and key for `CACHE_SECONDS` (at most `CACHE_ENTRIES`). An answer that is not metadata (an
Alloy without the endpoint, a 5xx) leaves the placement unknown: parameters then go in
``queryParameters``. An action the connector does not have is an error that says how to list
its actions.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcp_paginate.errors import InputError, PaginateError, UpstreamStatusError
from mcp_paginate.http import HttpResponse, OriginPolicy, origin_of
from mcp_paginate.paginators import AlloyPagination, AutoPagination, ConcretePagination, PreparedRequest
from mcp_paginate.requests import resolve_source

if TYPE_CHECKING:
    from mcp_paginate.app import AppContext
    from mcp_paginate.config import SourceConfig

__all__ = [
    "CACHE_ENTRIES",
    "CACHE_SECONDS",
    "MAX_PARAMETERS",
    "MetadataCache",
    "parse_parameters",
    "prepare_pagination",
]

CACHE_SECONDS = 900.0
CACHE_ENTRIES = 256
MAX_PARAMETERS = 500
_MAX_NAME = 200
_PLACES = {"query": "query", "body": "body", "path": "path", "header": "header"}
_SENT_HEADERS = ("authorization", "x-api-version", "x-alloy-userid")


@dataclass(frozen=True)
class _Entry:
    parameters: dict[str, str]
    expires: float


class MetadataCache:
    """Action placements by metadata URL and key digest: bounded, expiring, least recently used out."""

    def __init__(self, entries: int = CACHE_ENTRIES, seconds: float = CACHE_SECONDS) -> None:
        self.entries, self.seconds = entries, seconds
        self._items: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self.fetches = 0

    def get(self, key: tuple[str, str]) -> dict[str, str] | None:
        entry = self._items.get(key)
        if entry is None or entry.expires < time.monotonic():
            self._items.pop(key, None)
            return None
        self._items.move_to_end(key)
        return entry.parameters

    def put(self, key: tuple[str, str], parameters: dict[str, str]) -> None:
        self._items[key] = _Entry(parameters, time.monotonic() + self.seconds)
        self._items.move_to_end(key)
        while len(self._items) > self.entries:
            self._items.popitem(last=False)


CACHE = MetadataCache()
"""The process's cache (a replica without it fetches once itself)."""


async def prepare_pagination(
    app: AppContext,
    source: SourceConfig,
    params: Mapping[str, Any],
    spec: ConcretePagination | AutoPagination,
    cache: MetadataCache = CACHE,
) -> ConcretePagination | AutoPagination:
    """``spec`` with the action's parameter placement filled in from its metadata, when it is an
    Alloy pagination that may meet the reference form and has none configured; else ``spec``.

    Raises:
        InputError: the connector has no such action (the message says how to list its actions),
            or the key was refused (the message names ALLOY_API_KEY).
    """
    if not isinstance(spec, AlloyPagination) or spec.form == "guide" or spec.parameters:
        return spec
    execute = resolve_source(source, params, app.environ).register_secrets(app.redactor)
    if not execute.url.endswith("/execute"):
        return spec
    request = PreparedRequest(
        method="GET",
        url=execute.url.removesuffix("/execute"),
        headers={k: v for k, v in execute.headers.items() if k.lower() in _SENT_HEADERS},
    )
    key = (request.url, hashlib.sha256(request.headers.get("Authorization", "").encode()).hexdigest()[:16])
    parameters = cache.get(key)
    if parameters is None:
        policy = OriginPolicy(
            home=origin_of(execute.url),
            allowed_hosts=tuple(app.config.server.allowed_hosts),
            secret_headers=frozenset(source.secret_header_names()),
        )
        parameters = await _fetch(app, source, request, policy, params)
        cache.fetches += 1
        if parameters is not None:
            cache.put(key, parameters)
    return spec.model_copy(update={"parameters": parameters}) if parameters else spec


async def _fetch(
    app: AppContext,
    source: SourceConfig,
    request: PreparedRequest,
    policy: OriginPolicy,
    params: Mapping[str, Any],
) -> dict[str, str] | None:
    """The placement the metadata gives; {} when the answer is not metadata; None (not cached)
    when the key was refused: the execution then reports that, in Alloy's words."""
    try:
        response = await app.http.send(request, policy, source=source.name, pool=source.name)
    except UpstreamStatusError as exc:
        if exc.status in (401, 403):
            return None
        if exc.status == 404:
            await _check_action_exists(app, request, policy, source, params, str(exc))
        return {}
    except PaginateError:
        return {}  # unreachable metadata: the execution reports the real problem, if any
    return parse_parameters(response.body)


async def _check_action_exists(
    app: AppContext,
    request: PreparedRequest,
    policy: OriginPolicy,
    source: SourceConfig,
    params: Mapping[str, Any],
    said: str,
) -> None:
    """After a 404 for an action's metadata: if the connector's action list answers and lacks the
    action, say so (with how to list them); otherwise the endpoint is just not there."""
    listing = PreparedRequest("GET", request.url.rsplit("/", 1)[0], headers=dict(request.headers))
    try:
        response: HttpResponse = await app.http.send(listing, policy, source=source.name, pool=source.name)
    except PaginateError:
        return
    ids = _action_ids(response.body)
    action, connector = request.url.rsplit("/", 1)[1], str(params.get("connector", ""))
    if ids is not None and action not in ids:
        shown = ", ".join(sorted(ids)[:20]) or "none"
        raise InputError(
            f"Alloy connector {connector!r} has no action {action!r} ({said}); its actions: {shown}. "
            f"List them with list_page(source='alloy_actions', params={{'connector': '{connector}'}}), "
            "and an action's parameters with source='alloy_action'",
            source=source.name,
        )


def _action_ids(body: Any) -> set[str] | None:
    items = body.get("actions", body.get("data")) if isinstance(body, dict) else body
    if not isinstance(items, list):
        return None
    return {
        str(item.get("id")) for item in items[:MAX_PARAMETERS] if isinstance(item, dict) and item.get("id")
    }


def parse_parameters(body: Any) -> dict[str, str]:
    """``{name: in}`` from an action's metadata (``action.parameters`` or ``parameters``), at most
    `MAX_PARAMETERS`; entries that are not ``{name, in}`` with a known ``in`` are left out."""
    action = body.get("action", body) if isinstance(body, dict) else None
    items = action.get("parameters") if isinstance(action, dict) else None
    if not isinstance(items, list):
        return {}
    found: dict[str, str] = {}
    for item in items[:MAX_PARAMETERS]:
        if not isinstance(item, dict):
            continue
        name, where = item.get("name"), item.get("in")
        if isinstance(name, str) and 0 < len(name) <= _MAX_NAME and isinstance(where, str):
            place = _PLACES.get(where.lower())
            if place is not None:
                found[name] = place
    return found
