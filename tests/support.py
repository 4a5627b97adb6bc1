"""Shared test helpers: the sample API's sources in every pagination style."""

from __future__ import annotations

import subprocess
from typing import Any

from mcp.types import TextContent, TextResourceContents

from mcp_paginate.config import AppConfig

ALL_IDS = list(range(1, 238))
"""The ids the sample API serves by default (237 records)."""

ALLOY_ENV = {
    "ALLOY_API_KEY": "alloy-test-key-5f1c",
    "ALLOY_CREDENTIAL_ID": "cred-1",
    "ALLOY_USER_ID": "user-1",
}


def sample_sources(url: str) -> dict[str, dict[str, Any]]:
    """One configured source per sample-API style (the name says which)."""
    return {
        "alloy_style": {
            "preset": "alloy",
            "base_url": url,
            "connector": "hubspot",
            "action": "listContacts",
            "form": "guide",  # offset + has_more for the engine's tests; both forms: tests/test_alloy.py
        },
        "offset_total": {
            "url": url + "/offset",
            "records": "items",
            "max_page_size": 100,
            "pagination": {"mode": "offset", "total": "total", "page_size": 40},
        },
        "pages_capped": {"url": url + "/pages", "pagination": {"mode": "page", "page_size": 50}},
        "pages_total": {
            "url": url + "/pages-total",
            "pagination": {"mode": "page", "page_size": 30, "total_pages": "total_pages", "total": "total"},
        },
        "body_token": {
            "url": url + "/token",
            "pagination": {
                "mode": "cursor",
                "next": {"body": "meta.next_token"},
                "cursor_param": {"in": "query", "name": "pagination_token"},
                "size_param": {"in": "query", "name": "max_results"},
                "page_size": 30,
            },
        },
        "header_cursor": {
            "url": url + "/header-cursor",
            "pagination": {
                "mode": "cursor",
                "next": {"header": "X-Next-Cursor"},
                "size_param": {"in": "query", "name": "limit"},
                "page_size": 40,
            },
        },
        "link_header": {
            "url": url + "/link",
            "pagination": {
                "mode": "cursor",
                "next": {"link": "next"},
                "cursor_param": {"in": "url"},
                "size_param": {"in": "query", "name": "per_page"},
                "page_size": 25,
            },
        },
        "link_relative": {
            "url": url + "/link",
            "query": {"relative": "1", "per_page": "50"},
            "pagination": {"mode": "cursor", "next": {"link": "next"}, "cursor_param": {"in": "url"}},
        },
        "starting_after": {
            "url": url + "/starting-after",
            "pagination": {
                "mode": "cursor",
                "next": {"last_record": "id"},
                "cursor_param": {"in": "query", "name": "starting_after"},
                "has_more": "has_more",
                "size_param": {"in": "query", "name": "limit"},
                "page_size": 33,
            },
        },
        "next_url": {
            "url": url + "/next-url",
            "query": {"limit": "20"},
            "pagination": {"mode": "cursor", "next": {"body": "next"}, "cursor_param": {"in": "url"}},
        },
        "auto_next_url": {"url": url + "/next-url", "query": {"limit": "50"}, "pagination": {"mode": "auto"}},
        "auto_link": {"url": url + "/link", "query": {"per_page": "50"}, "pagination": {"mode": "auto"}},
    }


def sample_config(url: str, **server: Any) -> AppConfig:
    """An AppConfig with every sample source; server settings overridable."""
    settings = {"allowed_hosts": [], **server}
    return AppConfig.model_validate(
        {"server": settings, "sources": sample_sources(url)}, context={"environ": ALLOY_ENV}
    )


def stop_process(process: subprocess.Popen[Any]) -> None:
    """Stop a server started by a fixture: terminate, and kill it if it has not exited in 10 s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def block_text(block: Any) -> str:
    """The text of one content block; fails on any other kind of content."""
    assert isinstance(block, TextContent), f"expected text content, got {type(block).__name__}"
    return block.text


def text_of(result: Any) -> str:
    """The text of a tool result (its text blocks joined by spaces); fails on any other content."""
    return " ".join(block_text(block) for block in result.content)


def resource_text(read: Any) -> str:
    """The text of a read resource's first contents entry; fails on a blob."""
    contents = read.contents[0]
    assert isinstance(contents, TextResourceContents), f"expected text, got {type(contents).__name__}"
    return contents.text
