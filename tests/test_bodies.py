"""Bodies that only Python's ``json`` accepts, end to end: an upstream on loopback serves them,
the server reads them through the real `mcp.Client`, and every record reaches the result, its
text and the stored results (nothing is lost to a serialization error)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from mcp import Client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mcp_paginate.config import AppConfig
from mcp_paginate.sample_api import SampleAPI
from mcp_paginate.server import create_server
from tests.conftest import structured

BODIES = {
    # A lone surrogate escape is valid JSON but not text: it arrives as U+FFFD.
    "lone": (
        b'{"items": [{"id": 1, "name": "a\\ud800b", "k\\udc00": ["\\udfff", {"x": "\\ud83d"}]}]}',
        [{"id": 1, "name": "a\ufffdb", "k\ufffd": ["\ufffd", {"x": "\ufffd"}]}],
    ),
    # A proper pair is one character, untouched.
    "pair": (b'{"items": [{"id": 2, "name": "\\ud83d\\ude00"}]}', [{"id": 2, "name": "\U0001f600"}]),
    "bom": (b"\xef\xbb\xbf" + b'{"items": [{"id": 3, "name": "caf\xc3\xa9"}]}', [{"id": 3, "name": "café"}]),
}


class _Upstream(SampleAPI):
    """The sample API's server thread, serving ``BODIES[name]`` at ``/name`` instead."""

    def __init__(self) -> None:
        super().__init__()

        async def body(request: Request) -> Response:
            return Response(BODIES[request.path_params["name"]][0], media_type="application/json")

        self.app = Starlette(routes=[Route("/{name}", body)])


@pytest.fixture(scope="module")
def upstream() -> Iterator[_Upstream]:
    with _Upstream() as api:
        yield api


@pytest.fixture
async def client(upstream: _Upstream) -> AsyncIterator[Client]:
    config = AppConfig.model_validate(
        {
            "sources": {
                name: {"url": f"{upstream.url}/{name}", "records": "items", "pagination": {"mode": "none"}}
                for name in BODIES
            }
        }
    )
    async with Client(create_server(config, "memory://")) as connected:
        yield connected


@pytest.mark.anyio
@pytest.mark.parametrize("name", sorted(BODIES))
async def test_bodies_only_json_accepts_reach_every_part_of_the_result(client: Client, name: str) -> None:
    expected: list[Any] = BODIES[name][1]

    page = await client.call_tool("list_page", {"source": name})
    assert structured(page)["records"] == expected
    assert json.loads(page.content[1].text)["records"] == expected

    drained = await client.call_tool("fetch_all", {"source": name})
    data = structured(drained)
    assert data["records"] == expected and data["count"] == len(expected)
    stored = await client.read_resource(data["results_uri"])
    assert json.loads(stored.contents[0].text)["records"] == expected  # type: ignore[union-attr]
