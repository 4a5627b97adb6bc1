"""Drain a peer through the real MCP client, as a user would: a TOML config file, then ``fetch_all``.

Shared by ``tests/test_peers.py`` and ``tools/peers_table.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from mcp_paginate.config import load_config
from mcp_paginate.server import create_server
from tests.peers.base import Peer, Style
from tests.peers.catalogue import SOURCE

__all__ = ["DRAIN_TIMEOUT_SECONDS", "Outcome", "config_file", "connect", "drain", "drain_style"]

DRAIN_TIMEOUT_SECONDS = 30.0


@dataclass
class Outcome:
    """What one ``fetch_all`` brought back, and how many requests the peer answered for it."""

    ids: list[Any] = field(default_factory=list)
    count: int = 0
    pages: int = 0
    complete: bool = False
    stop_reason: str | None = None
    requests: int = 0
    detected: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None


def config_file(directory: Path, peer: Peer, style: Style | None) -> Path:
    """Write the TOML a user would: the peer's host allowed for ad-hoc requests, the style's source."""
    host = peer.url.removeprefix("http://")
    text = f'[server]\nallowed_hosts = ["{host}"]\n'
    if style is not None:
        text += "\n" + style.source_toml(peer.url) + "\n"
    path = directory / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def connect(path: Path) -> Client:
    """An in-memory MCP client on a server made from the config file (memory store, no environment)."""
    return Client(create_server(load_config(path, environ={}), "memory://", environ={}))


def _text(result: Any) -> str:
    return " ".join(block.text for block in result.content if getattr(block, "text", None))


async def _stored_ids(client: Client, data: dict[str, Any]) -> list[Any]:
    """Every record's id: inline, then the rest from the stored result with ``read_results``."""
    ids = [record.get("id") for record in data["records"]]
    offset = len(ids)
    while offset < data["count"]:
        result = await client.call_tool(
            "read_results", {"results_uri": data["results_uri"], "offset": offset, "limit": 500}
        )
        if result.is_error:
            raise RuntimeError(_text(result))
        chunk = result.structured_content or {}
        ids.extend(record.get("id") for record in chunk["records"])
        if chunk.get("next_offset") is None:
            break
        offset = chunk["next_offset"]
    return ids


async def drain(client: Client, peer: Peer, arguments: dict[str, Any]) -> Outcome:
    """``fetch_all`` with these arguments; the requests counted at the peer while it ran."""
    before = await anyio.to_thread.run_sync(lambda: peer.requests)
    with anyio.fail_after(DRAIN_TIMEOUT_SECONDS):
        result = await client.call_tool("fetch_all", arguments)
    requests = await anyio.to_thread.run_sync(lambda: peer.requests) - before
    if result.is_error:
        return Outcome(requests=requests, error=_text(result))
    data = result.structured_content or {}
    return Outcome(
        ids=await _stored_ids(client, data),
        count=data["count"],
        pages=data["pages"],
        complete=data["complete"],
        stop_reason=data["stop_reason"],
        requests=requests,
        detected=data.get("detected"),
        notes=list(data.get("notes") or []),
        error=data.get("error"),
    )


async def drain_style(directory: Path, peer: Peer, style: Style, mode: str) -> Outcome:
    """Drain one case: ``configured`` (the style's source) or ``auto`` (a bare ad-hoc URL)."""
    arguments: dict[str, Any]
    if mode == "configured":
        path, arguments = config_file(directory, peer, style), {"source": SOURCE}
    elif mode == "auto" and style.auto_path is not None:
        path, arguments = config_file(directory, peer, None), {"request": {"url": peer.url + style.auto_path}}
    else:
        raise ValueError(f"{style.id} has no {mode} case")
    try:
        async with connect(path) as client:
            return await drain(client, peer, arguments)
    except Exception as exc:  # a config the server refuses is an outcome to report, not a crash
        return Outcome(error=f"{type(exc).__name__}: {exc}")
