"""Fixtures: the sample API on loopback, an app context, an in-memory MCP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from mcp import Client

from mcp_paginate.app import AppContext, open_app
from mcp_paginate.sample import SampleAPI
from mcp_paginate.server import create_server
from tests.support import ALLOY_ENV, sample_config


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def sample_api() -> Iterator[SampleAPI]:
    """One sample API for the whole run (237 records, no faults). Don't set faults on it."""
    with SampleAPI() as api:
        yield api


@pytest.fixture
def fresh_api() -> Iterator[SampleAPI]:
    """A sample API of the test's own, free to carry faults."""
    with SampleAPI() as api:
        yield api


@pytest.fixture
async def app(sample_api: SampleAPI) -> AsyncIterator[AppContext]:
    async with open_app(sample_config(sample_api.url), "memory://", environ=ALLOY_ENV) as context:
        yield context


@pytest.fixture
async def client(sample_api: SampleAPI) -> AsyncIterator[Client]:
    server = create_server(sample_config(sample_api.url), "memory://", environ=ALLOY_ENV)
    async with Client(server) as connected:
        yield connected


def structured(result: Any) -> dict[str, Any]:
    """The structured content of a successful tool result (fails the test on a tool error)."""
    assert not result.is_error, result.content[0].text
    data = result.structured_content
    assert isinstance(data, dict)
    return data
