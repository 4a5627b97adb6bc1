"""The sample API as a Starlette app: the route table of every paging style, and the traffic
layer that counts, delays, checks the key of, and injects faults into data requests.

Paths under ``/_`` are control endpoints (`control`); every other path is a *data request*. Only
data requests are counted in the stats, delayed by ``latency``, checked against ``api_key``
(``401 {"error": "invalid api key"}`` unless ``Authorization: Bearer <api_key>``) and subject to
faults (`faults`).

A new paging style is a module with a ``routes(data) -> list[BaseRoute]`` function, added to
`STYLES`.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import anyio
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mcp_paginate.sample import alloy, control, cursors, links, offsets, pages, probing, shapes
from mcp_paginate.sample.faults import FaultPlan, drop_connection, fault_response, half_body_sender
from mcp_paginate.sample.params import BadRequest, bad_request_response
from mcp_paginate.sample.records import DEFAULT_RECORDS, SampleData

__all__ = ["STYLES", "SampleApp", "create_app", "style_endpoints"]

STYLES: tuple[ModuleType, ...] = (alloy, offsets, pages, cursors, links, probing, shapes)
"""The paging styles served, each a module whose ``routes(data)`` lists its endpoints."""


def _routes(data: SampleData) -> list[BaseRoute]:
    """Every style's routes, then the control endpoints: the one place routes are mounted."""
    found: list[BaseRoute] = []
    for style in STYLES:
        mount: Callable[[SampleData], list[BaseRoute]] = style.routes
        found.extend(mount(data))
    found.extend(control.routes(data))
    return found


def style_endpoints() -> dict[str, list[str]]:
    """Each style's name and its endpoints (``/path``, or ``POST /path`` for what is not a GET),
    as the route table mounts them."""
    data = SampleData(0, 0.0, None, None)
    found: dict[str, list[str]] = {}
    for style in STYLES:
        mount: Callable[[SampleData], list[BaseRoute]] = style.routes
        endpoints = found.setdefault(style.__name__.rpartition(".")[2], [])
        for route in mount(data):
            if isinstance(route, Route):
                methods = route.methods or set()
                endpoints.append(
                    route.path if "GET" in methods else f"{'/'.join(sorted(methods))} {route.path}"
                )
    return found


class _TrafficLayer:
    """Outermost ASGI layer: stats, latency, api key and faults for data requests.

    It sits outside Starlette's own middleware so that ``send`` is still the server's, which
    the connection-dropping faults need.
    """

    def __init__(self, data: SampleData, app: ASGIApp) -> None:
        self.data = data
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_"):
            await self.app(scope, receive, send)
            return
        data = self.data
        authorization = Headers(scope=scope).get("authorization")
        data.stats.request_started(scope["path"], authorization)
        try:
            if data.latency > 0:
                await anyio.sleep(data.latency)
            if data.api_key is not None and authorization != f"Bearer {data.api_key}":
                await JSONResponse({"error": "invalid api key"}, status_code=401)(scope, receive, send)
                return
            plan, number = data.next_request_number()
            scope.setdefault("state", {})["request_number"] = number
            if plan.is_slow(number):
                await anyio.sleep(plan.slow_seconds)
            await self._respond(plan, number, scope, receive, send)
        finally:
            data.stats.request_finished()

    async def _respond(
        self, plan: FaultPlan, number: int, scope: Scope, receive: Receive, send: Send
    ) -> None:
        fault = plan.fault_for(number)
        if fault == "reset":
            await drop_connection(receive, send, flush=False)
        elif fault == "truncate":
            await self.app(scope, receive, half_body_sender(send))
            await drop_connection(receive, send, flush=True)
        else:
            app = fault_response(plan, fault) or self.app
            await app(scope, receive, send)


class SampleApp(Starlette):
    """The sample API's Starlette app; ``data`` is what it serves (records, stats, faults)."""

    def __init__(self, data: SampleData) -> None:
        self.data = data
        super().__init__(routes=_routes(data), exception_handlers={BadRequest: bad_request_response})
        self.state.stats = data.stats
        self.state.sample_api = data

    def build_middleware_stack(self) -> ASGIApp:
        return _TrafficLayer(self.data, super().build_middleware_stack())


def create_app(
    records: int = DEFAULT_RECORDS,
    latency: float = 0.0,
    api_key: str | None = None,
    faults: FaultPlan | None = None,
) -> SampleApp:
    """The sample API as a Starlette app.

    Args:
        records: how many records (ids 1..records) every endpoint serves.
        latency: seconds added to every data request.
        api_key: if set, data requests need ``Authorization: Bearer <api_key>``.
        faults: the initial fault plan (default: none).

    ``app.state.stats`` is its `Stats`; ``app.state.sample_api.faults`` its live plan.
    """
    return SampleApp(SampleData(records, latency, api_key, faults))
