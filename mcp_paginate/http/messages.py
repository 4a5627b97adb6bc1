"""Upstream error messages: what an API said, short, on one line, its secrets masked."""

from __future__ import annotations

import json

from mcp_paginate.redaction import Redactor

__all__ = ["upstream_message"]

_UPSTREAM_MESSAGE_CHARS = 300


def upstream_message(text: str, redactor: Redactor | None = None) -> str:
    """A short, single-line excerpt of an upstream error body, its secrets masked before it is cut
    (a key the cut went through would otherwise show in part, where no redaction finds it)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict):
        for key in ("error_description", "message", "error", "detail", "title", "errors"):
            if data.get(key):
                value = data[key]
                if isinstance(value, dict) and isinstance(value.get("message"), str):
                    value = value["message"]
                text = value if isinstance(value, str) else json.dumps(value, default=str)
                break
    return (redactor or Redactor()).shorten(" ".join(text.split()), _UPSTREAM_MESSAGE_CHARS)
