"""The Alloy Connectivity API, in both of its documented forms, with its metadata endpoints.

Guide form, at the root (Alloy's Pagination guide)
    ``POST /connectors/{connector}/actions/{action}/execute``: headers ``x-api-version`` and
    ``x-alloy-userid`` required; body ``{"credentialId", "actionId" (== action), "input":
    {"limit", "offset", ...}}``; ``limit > 50`` is a 400. Returns ``{"data": [...],
    "pagination": {"hasMore", "nextOffset"}}``. Any connector and action.

Reference form, under ``/reference`` (Alloy's API reference, execute-connector-action)
    ``POST /reference/connectors/{connector}/actions/{action}/execute``: body ``{"credentialId",
    "queryParameters", "requestBody", "pathParams", "additionalHeaders"}``, each action parameter
    where its metadata says (`alloy_connectors`); the page-size parameter above 50 is a 400.
    Returns ``{"responseData": <the third party's body>, "executionId", "status"}``.

Metadata, under both: ``GET /connectors`` ``{"connectors": [{id, name}]}``, ``GET
/connectors/{connector}/actions`` ``{"actions": [{id, name, httpMethod}]}``, ``GET
/connectors/{connector}/actions/{action}`` ``{"action": {id, name, httpMethod, parameters: [{name,
in, required}]}}``; unknown ones are 404s.

Both forms are strict: a body of the other form (the guide's ``actionId``/``input`` and none of the
reference's fields, or the other way round) is a 400, in Alloy's error shape ``{"error",
"message"}``; in a body carrying both, each form reads its own fields. Under ``/strict`` (guide)
and ``/strict/reference`` (reference) the same API is stricter still: any field of the other form
is an unknown field, a 400, even beside the form's own. ``GET /_alloy`` reports the
largest page size any execution asked for (or got by default) and the metadata requests served.
"""

from __future__ import annotations

import json
import threading
import uuid
from functools import partial
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mcp_paginate.sample.alloy_connectors import ALLOY_MAX_LIMIT, CONNECTORS, Action, AlloyError, Call
from mcp_paginate.sample.records import DEFAULT_PAGE_SIZE, SampleData

__all__ = ["ALLOY_MAX_LIMIT", "METADATA_PATHS", "AlloyLedger", "routes"]

GUIDE_FIELDS = frozenset({"actionId", "input"})
REFERENCE_FIELDS = frozenset({"queryParameters", "requestBody", "pathParams", "additionalHeaders"})
METADATA_PATHS = tuple(
    f"{prefix}/connectors{rest}"
    for prefix in ("", "/reference", "/strict", "/strict/reference")
    for rest in ("", "/{connector}/actions", "/{connector}/actions/{action}")
)
"""The metadata endpoints: what a connector offers, not a paging style."""
CONNECTOR_DEFAULT_SIZE = 100
"""What a connector sends when no page size is asked for: more than Alloy's cap (Notion's default)."""


class AlloyLedger:
    """What the Alloy endpoints saw: the largest page size served, metadata requests, per form."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.largest_page_size = 0
        self.metadata_requests = 0
        self.executions = {"guide": 0, "reference": 0}

    def executed(self, form: str, size: int) -> None:
        with self._lock:
            self.executions[form] += 1
            self.largest_page_size = max(self.largest_page_size, size)

    def metadata(self) -> None:
        with self._lock:
            self.metadata_requests += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "largest_page_size": self.largest_page_size,
                "metadata_requests": self.metadata_requests,
                "executions": dict(self.executions),
            }


def routes(data: SampleData) -> list[BaseRoute]:
    """This style's endpoints, serving ``data``."""
    ledger = AlloyLedger()
    execute = "/connectors/{connector}/actions/{action}/execute"
    found: list[BaseRoute] = [
        Route(execute, partial(guide, data, ledger), methods=["POST"]),
        Route("/reference" + execute, partial(reference, data, ledger), methods=["POST"]),
        Route("/strict" + execute, partial(guide, data, ledger, strict=True), methods=["POST"]),
        Route("/strict/reference" + execute, partial(reference, data, ledger, strict=True), methods=["POST"]),
        Route("/_alloy", partial(show_ledger, ledger)),
    ]
    handlers = (list_connectors, list_actions, show_action)
    found += [Route(path, partial(handlers[i % 3], ledger)) for i, path in enumerate(METADATA_PATHS)]
    return found


def _error(exc: AlloyError) -> Response:
    return JSONResponse({"error": exc.error, "message": exc.message}, status_code=exc.status)


async def show_ledger(ledger: AlloyLedger, request: Request) -> Response:
    return JSONResponse(ledger.snapshot())


# -- metadata -------------------------------------------------------------------------------


def _action(connector: str, action: str | None = None) -> tuple[str, dict[str, Action], Action | None]:
    if connector not in CONNECTORS:
        raise AlloyError(404, "Not Found", f"Connector '{connector}' not found")
    name, actions = CONNECTORS[connector]
    if action is not None and action not in actions:
        raise AlloyError(404, "Not Found", f"Action '{action}' not found for connector '{connector}'")
    return name, actions, actions[action] if action is not None else None


async def list_connectors(ledger: AlloyLedger, request: Request) -> Response:
    ledger.metadata()
    return JSONResponse({"connectors": [{"id": key, "name": name} for key, (name, _) in CONNECTORS.items()]})


async def list_actions(ledger: AlloyLedger, request: Request) -> Response:
    ledger.metadata()
    try:
        _, actions, _ = _action(request.path_params["connector"])
    except AlloyError as exc:
        return _error(exc)
    listed = [{"id": a.id, "name": a.name, "httpMethod": a.http_method} for a in actions.values()]
    return JSONResponse({"actions": listed})


async def show_action(ledger: AlloyLedger, request: Request) -> Response:
    ledger.metadata()
    try:
        _, _, action = _action(request.path_params["connector"], request.path_params["action"])
    except AlloyError as exc:
        return _error(exc)
    assert action is not None
    return JSONResponse({"action": action.metadata()})


# -- executions -----------------------------------------------------------------------------


async def _body(request: Request, other: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The execution's JSON body, checked; ``other``: the other form's fields, refused (strict)."""
    for header in ("x-api-version", "x-alloy-userid"):
        if not request.headers.get(header):
            raise AlloyError(400, "Bad Request", f"missing required header {header}")
    try:
        body = await request.json()
    except json.JSONDecodeError:
        raise AlloyError(400, "Bad Request", "request body must be JSON") from None
    if not isinstance(body, dict):
        raise AlloyError(400, "Bad Request", "request body must be a JSON object")
    unknown = sorted((set(body) - GUIDE_FIELDS - REFERENCE_FIELDS - {"credentialId"}) | (set(body) & other))
    if unknown:
        raise AlloyError(400, "Bad Request", f"unknown field(s) in the request body: {', '.join(unknown)}")
    if not isinstance(body.get("credentialId"), str) or not body["credentialId"]:
        raise AlloyError(400, "Bad Request", "credentialId is required")
    return body


async def guide(data: SampleData, ledger: AlloyLedger, request: Request, *, strict: bool = False) -> Response:
    try:
        body = await _body(request, REFERENCE_FIELDS if strict else frozenset())
        if not GUIDE_FIELDS & set(body) and REFERENCE_FIELDS & set(body):
            raise AlloyError(
                400, "Bad Request", "actionId is required: this API takes {credentialId, actionId, input}"
            )
        action = request.path_params["action"]
        if body.get("actionId") != action:
            raise AlloyError(400, "Bad Request", f"actionId must be {action!r}, got {body.get('actionId')!r}")
        action_input = body.get("input", {})
        if not isinstance(action_input, dict):
            raise AlloyError(400, "Bad Request", "input must be an object")
        call = Call({}, action_input, {}, "")
        limit = call.int_param(action_input, "limit", DEFAULT_PAGE_SIZE, minimum=1)
        offset = call.int_param(action_input, "offset", 0)
        if limit > ALLOY_MAX_LIMIT:
            raise AlloyError(400, "Bad Request", f"limit must be at most {ALLOY_MAX_LIMIT}")
    except AlloyError as exc:
        return _error(exc)
    except ClientDisconnect:  # the client gave up (a cancelled prefetch): nobody to answer
        return Response(status_code=499)
    ledger.executed("guide", limit)
    page = data.slice(offset, limit)
    has_more = page.next_offset is not None
    next_offset = page.next_offset if page.next_offset is not None else offset + len(page.records)
    return JSONResponse(
        {"data": page.records, "pagination": {"hasMore": has_more, "nextOffset": next_offset}}
    )


async def reference(
    data: SampleData, ledger: AlloyLedger, request: Request, *, strict: bool = False
) -> Response:
    try:
        body = await _body(request, GUIDE_FIELDS if strict else frozenset())
        _, _, action = _action(request.path_params["connector"], request.path_params["action"])
        assert action is not None
        if GUIDE_FIELDS & set(body) and not REFERENCE_FIELDS & set(body):
            raise AlloyError(
                400,
                "Bad Request",
                "this API takes the action's parameters in queryParameters, requestBody and pathParams, "
                "not in input",
            )
        call = _sorted_call(action, body, str(request.base_url))
        size = _page_size(action, call)
        answer = action.run(data, call, size)
    except AlloyError as exc:
        return _error(exc)
    except ClientDisconnect:
        return Response(status_code=499)
    ledger.executed("reference", size)
    return JSONResponse({"responseData": answer, "executionId": uuid.uuid4().hex, "status": "success"})


def _sorted_call(action: Action, body: dict[str, Any], base_url: str) -> Call:
    """The body's parameters, checked against where the action takes each one."""
    takes = {name: where for name, where, _ in action.parameters}
    sections = {"query": "queryParameters", "body": "requestBody", "path": "pathParams"}
    found: dict[str, dict[str, Any]] = {}
    for where, field in sections.items():
        value = body.get(field, {})
        if not isinstance(value, dict):
            raise AlloyError(400, "Bad Request", f"{field} must be an object")
        for name in value:
            if name not in takes:
                raise AlloyError(400, "Bad Request", f"action {action.id!r} has no parameter {name!r}")
            if takes[name] != where:
                raise AlloyError(
                    400, "Bad Request", f"parameter {name!r} goes in {sections[takes[name]]}, not in {field}"
                )
        found[where] = value
    for name, where, required in action.parameters:
        if required and name not in found[where]:
            raise AlloyError(400, "Bad Request", f"{sections[where]}.{name} is required")
    return Call(found["query"], found["body"], found["path"], base_url)


def _page_size(action: Action, call: Call) -> int:
    where = call.query if action.size_param in call.query else call.body
    if action.size_param not in where:
        raise AlloyError(
            400,
            "Bad Request",
            f"{action.size_param} not given: the connector's default of {CONNECTOR_DEFAULT_SIZE} records is "
            f"above Alloy's cap of {ALLOY_MAX_LIMIT} per request",
        )
    size = call.int_param(where, action.size_param, CONNECTOR_DEFAULT_SIZE, minimum=1)
    if size > ALLOY_MAX_LIMIT:
        raise AlloyError(400, "Bad Request", f"{action.size_param} must be at most {ALLOY_MAX_LIMIT}")
    return size
