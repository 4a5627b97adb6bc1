"""The Alloy Connectivity API's action execution: offset paging in a POST body.

``POST /connectors/{connector}/actions/{action}/execute``
    Alloy Connectivity API. Headers ``x-api-version`` and ``x-alloy-userid`` required; body
    ``{"credentialId", "actionId" (== action), "input": {"limit", "offset", ...}}``; strict cap:
    ``limit > 50`` is a 400. Returns ``{"data": [...], "pagination": {"hasMore", "nextOffset"}}``.
"""

from __future__ import annotations

import json
from functools import partial

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mcp_paginate.sample.params import BadRequest, as_int
from mcp_paginate.sample.records import DEFAULT_PAGE_SIZE, SampleData

__all__ = ["ALLOY_MAX_LIMIT", "routes"]

ALLOY_MAX_LIMIT = 50


def routes(data: SampleData) -> list[BaseRoute]:
    """This style's endpoints, serving ``data``."""
    return [
        Route("/connectors/{connector}/actions/{action}/execute", partial(alloy, data), methods=["POST"]),
    ]


async def alloy(data: SampleData, request: Request) -> Response:
    for header in ("x-api-version", "x-alloy-userid"):
        if not request.headers.get(header):
            raise BadRequest(f"missing required header {header}")
    try:
        body = await request.json()
    except json.JSONDecodeError:
        raise BadRequest("request body must be JSON") from None
    except ClientDisconnect:  # the client gave up (a cancelled prefetch): nobody to answer
        return Response(status_code=499)
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    if not isinstance(body.get("credentialId"), str) or not body["credentialId"]:
        raise BadRequest("credentialId is required")
    action = request.path_params["action"]
    if body.get("actionId") != action:
        raise BadRequest(f"actionId must be {action!r}, got {body.get('actionId')!r}")
    action_input = body.get("input", {})
    if not isinstance(action_input, dict):
        raise BadRequest("input must be an object")
    limit = as_int(action_input.get("limit", DEFAULT_PAGE_SIZE), "limit", 1)
    offset = as_int(action_input.get("offset", 0), "offset", 0)
    if limit > ALLOY_MAX_LIMIT:
        raise BadRequest(f"limit must be at most {ALLOY_MAX_LIMIT}")
    page = data.slice(offset, limit)
    has_more = page.next_offset is not None
    next_offset = page.next_offset if page.next_offset is not None else offset + len(page.records)
    return JSONResponse(
        {"data": page.records, "pagination": {"hasMore": has_more, "nextOffset": next_offset}}
    )
