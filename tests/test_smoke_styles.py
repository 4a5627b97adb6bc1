"""Every sample-API style drains exactly, through the real MCP client, in one fetch_all."""

from __future__ import annotations

import pytest
from mcp import Client

from tests.conftest import structured
from tests.support import ALL_IDS

STYLES = [
    "alloy_style",
    "offset_total",
    "pages_capped",
    "pages_total",
    "body_token",
    "header_cursor",
    "link_header",
    "link_relative",
    "starting_after",
    "next_url",
    "auto_next_url",
    "auto_link",
]


@pytest.mark.anyio
@pytest.mark.parametrize("source", STYLES)
async def test_fetch_all_drains_every_style_exactly(client: Client, source: str) -> None:
    data = structured(await client.call_tool("fetch_all", {"source": source}))
    assert [record["id"] for record in data["records"]] == ALL_IDS
    assert data["count"] == len(ALL_IDS)
    assert data["complete"] is True
    assert data["stop_reason"] == "exhausted"
    assert data["next_cursor"] is None
