"""The HTTP transport's ASGI app: ``/ready`` probes the very store the tools use."""

from __future__ import annotations

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_paginate.config import AppConfig
from mcp_paginate.http_app import auth_tokens, build_http_app
from mcp_paginate.sample import SampleAPI
from mcp_paginate.server import create_server
from tests.loopback import serving
from tests.support import sample_sources

pytestmark = pytest.mark.anyio


async def test_ready_counts_the_sessions_of_the_servers_own_memory_store(sample_api: SampleAPI) -> None:
    # A store opened per probe would be a fresh, empty memory:// store: 0 sessions, always.
    config = AppConfig.model_validate(
        {"sources": {"offset_total": sample_sources(sample_api.url)["offset_total"]}}
    )
    app = build_http_app(create_server(config, "memory://", environ={}), config, store_url="memory://")
    with anyio.fail_after(30):
        async with serving(app, lifespan="on") as url, httpx2.AsyncClient(timeout=10) as http:
            before = (await http.get(url + "/ready")).json()
            async with Client(streamable_http_client(url + "/mcp", http_client=http)) as client:
                for _ in range(2):
                    result = await client.call_tool("list_page", {"source": "offset_total"})
                    assert not result.is_error
            after = await http.get(url + "/ready")
    assert before == {"status": "ok", "store": "memory://", "sessions": 0, "results": 0}
    assert after.status_code == 200 and after.json()["sessions"] == 2


def test_the_auth_token_expands_env_references_with_the_one_expander() -> None:
    config = AppConfig.model_validate({"server": {"auth_token": "${TOKENS}"}})
    assert auth_tokens(config, {"TOKENS": "a, b", "MCP_PAGINATE_AUTH_TOKEN": "c"}) == ["a", "b", "c"]
    assert auth_tokens(config, {}) == []  # unset: no token from the config, as before
