"""The control endpoints: ``GET /_stats`` / ``POST /_stats/reset`` show the `Stats` as JSON /
start counting afresh; ``GET /_faults`` / ``POST /_faults`` / ``DELETE /_faults`` show, replace
(JSON body with `FaultPlan` fields; unknown fields are a 400) or clear the fault plan.

Paths under ``/_`` are never counted, delayed, checked for a key, nor subject to faults.
"""

from __future__ import annotations

import dataclasses
import json
from functools import partial

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mcp_paginate.sample.faults import FaultPlan
from mcp_paginate.sample.params import BadRequest
from mcp_paginate.sample.records import SampleData

__all__ = ["routes"]


def routes(data: SampleData) -> list[BaseRoute]:
    """The control endpoints of ``data``'s app."""
    return [
        Route("/_stats", partial(show_stats, data)),
        Route("/_stats/reset", partial(reset_stats, data), methods=["POST"]),
        Route("/_faults", partial(show_faults, data), methods=["GET"]),
        Route("/_faults", partial(set_faults, data), methods=["POST"]),
        Route("/_faults", partial(clear_faults, data), methods=["DELETE"]),
    ]


async def show_stats(data: SampleData, request: Request) -> Response:
    return JSONResponse(data.stats.snapshot())


async def reset_stats(data: SampleData, request: Request) -> Response:
    data.stats.reset()
    return JSONResponse(data.stats.snapshot())


async def show_faults(data: SampleData, request: Request) -> Response:
    return JSONResponse(dataclasses.asdict(data.faults))


async def set_faults(data: SampleData, request: Request) -> Response:
    try:
        data.faults = FaultPlan.from_json(await request.json())
    except (json.JSONDecodeError, ValueError) as exc:
        raise BadRequest(str(exc)) from None
    return JSONResponse(dataclasses.asdict(data.faults))


async def clear_faults(data: SampleData, request: Request) -> Response:
    data.faults = FaultPlan()
    return JSONResponse(dataclasses.asdict(data.faults))
