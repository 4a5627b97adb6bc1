"""Real web frameworks written by others as peers: each pagination style drained through the MCP client.

For every framework × style (``tests/peers/catalogue.py``): the source configured as a user would
(a TOML file) and a bare-URL ``auto`` ad-hoc request, each drained with ``fetch_all``; the ids must
be the peer's dataset exactly (nothing lost, nothing repeated, in order) and the result complete.
Cases that fail today are strict xfails naming issue 14: they turn into failures the moment the
engine is fixed, and the marker must then go. ``python tools/peers_table.py`` prints the table.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from mcp_paginate.errors import ConfigError
from tests.conftest import structured
from tests.peers.base import Peer, Style
from tests.peers.catalogue import SOURCE, STYLES, PeerPool, PeerUnavailable
from tests.peers.runner import DRAIN_TIMEOUT_SECONDS, Outcome, config_file, connect, drain_style

pytestmark = pytest.mark.anyio


def _case(style: Style, reason: str | None) -> Any:
    # raises=AssertionError: only a wrong result is the expected failure, not a peer that did not start.
    marks = [pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason)] if reason else []
    return pytest.param(style, id=style.id, marks=marks)


CONFIGURED = [_case(style, style.configured_xfail) for style in STYLES if style.configured is not None]
AUTO = [_case(style, style.auto_xfail) for style in STYLES if style.auto_path is not None]


@pytest.fixture(scope="session")
def peer_pool() -> Iterator[PeerPool]:
    with PeerPool() as pool:
        yield pool


@pytest.fixture
def peer(peer_pool: PeerPool, style: Style) -> Peer:
    """The style's peer, started on first use (outside the event loop: Django wants its own thread)."""
    try:
        return peer_pool.get(style.peer)
    except PeerUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{exc}; the node peers must run in CI (.ci/run installs them)", pytrace=False)
        pytest.skip(str(exc))


def assert_drained_exactly(outcome: Outcome, peer: Peer) -> None:
    assert outcome.error is None, outcome.error
    received = outcome.ids
    assert len(received) == len(set(received)), "a record came twice"
    missing = len(set(peer.expected_ids) - set(received))
    assert received == peer.expected_ids, (
        f"{len(received)} received, {missing} missing; notes: {outcome.notes}"
    )
    assert outcome.complete is True and outcome.stop_reason == "exhausted"
    assert outcome.count == len(peer.expected_ids)
    assert outcome.requests >= outcome.pages >= 1  # every page came from the peer


@pytest.mark.parametrize("style", CONFIGURED)
async def test_configured_source_drains_every_record(style: Style, peer: Peer, tmp_path: Path) -> None:
    outcome = await drain_style(tmp_path, peer, style, "configured")
    assert_drained_exactly(outcome, peer)


@pytest.mark.parametrize("style", AUTO)
async def test_bare_url_in_auto_mode_drains_every_record(style: Style, peer: Peer, tmp_path: Path) -> None:
    outcome = await drain_style(tmp_path, peer, style, "auto")
    assert_drained_exactly(outcome, peer)


@pytest.mark.parametrize("style", CONFIGURED)
async def test_configured_source_pages_step_by_step(style: Style, peer: Peer, tmp_path: Path) -> None:
    """Three ``list_page`` calls continue the dataset; a page's own cursor re-reads the same page."""
    try:
        client = connect(config_file(tmp_path, peer, style))
    except ConfigError as exc:
        raise AssertionError(f"the config was refused: {exc}") from exc
    async with client:
        with anyio.fail_after(DRAIN_TIMEOUT_SECONDS):
            first = structured(await client.call_tool("list_page", {"source": SOURCE}))
            again = structured(await client.call_tool("list_page", {"cursor": first["cursor"]}))
            second = structured(await client.call_tool("list_page", {"cursor": first["next_cursor"]}))
            third = structured(await client.call_tool("list_page", {"cursor": second["next_cursor"]}))
    assert again["records"] == first["records"]
    pages = [first, second, third]
    ids = [record["id"] for page in pages for record in page["records"]]
    assert all(page["records"] for page in pages)
    assert ids == peer.expected_ids[: len(ids)]
    assert [page["page"]["number"] for page in pages] == [1, 2, 3]
    assert third["has_more"] is True and third["next_cursor"] is not None


@pytest.mark.parametrize("style", AUTO)
async def test_bare_url_in_auto_mode_pages_step_by_step(style: Style, peer: Peer, tmp_path: Path) -> None:
    """Auto mode one ``list_page`` at a time (a probe happens across calls): three pages continue
    the dataset, and each page's own cursor re-reads exactly that page."""
    assert style.auto_path is not None
    request = {"url": peer.url + style.auto_path}
    async with connect(config_file(tmp_path, peer, None)) as client:
        with anyio.fail_after(DRAIN_TIMEOUT_SECONDS):
            pages = [structured(await client.call_tool("list_page", {"request": request}))]
            while len(pages) < 3 and pages[-1]["next_cursor"] is not None:
                pages.append(
                    structured(await client.call_tool("list_page", {"cursor": pages[-1]["next_cursor"]}))
                )
            again = [
                structured(await client.call_tool("list_page", {"cursor": page["cursor"]})) for page in pages
            ]
    ids = [record["id"] for page in pages for record in page["records"]]
    assert ids == peer.expected_ids[: len(ids)]
    assert len(pages) == 3 or ids == peer.expected_ids  # three pages, or all there is
    assert [page["records"] for page in again] == [page["records"] for page in pages]
