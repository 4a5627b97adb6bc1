"""Response bodies: JSON parsed as ``json.loads`` parses it (faster, and bounded in depth), and
the RFC 8288 ``Link`` header's relations."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any
from urllib.parse import urljoin

import pydantic_core

__all__ = ["MAX_DEPTH", "TooDeepError", "load_json", "parse_links"]


def load_json(content: bytes) -> Any:
    """Parse a JSON body: with pydantic-core's parser (about twice as fast as ``json``), and with
    ``json`` for what only it accepts (a byte-order mark, lone surrogates, NaN), so the bodies
    that parse are those ``json.loads`` parses, with two exceptions:

    - a lone surrogate (``"\\ud800"``) is valid JSON but not text: no result or stored record
      could be written out as UTF-8 with it, so each one becomes U+FFFD, the replacement character;
    - a body nested more than `MAX_DEPTH` levels deep raises `TooDeepError`: a tool result
      cannot carry it (the serializer under every MCP message stops a little deeper).
    """
    try:
        return pydantic_core.from_json(content)  # it stops at MAX_DEPTH levels itself
    except ValueError:
        return _checked(json.loads(content))


MAX_DEPTH = 201
"""Deepest nesting of a response body: what pydantic-core's parser takes, arrays in arrays 201 deep."""


class TooDeepError(ValueError):
    """A JSON body nested more than `MAX_DEPTH` levels deep."""


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _checked(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings (keys too) replaced by U+FFFD, walked
    without recursion; raises `TooDeepError` past `MAX_DEPTH` levels."""

    def clean(text: str) -> str:
        return _LONE_SURROGATE.sub("\ufffd", text)

    if isinstance(value, str):
        return clean(value)
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise TooDeepError(f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    node[index] = clean(item)
                elif isinstance(item, list | dict):
                    pending.append((item, depth + 1))
        elif isinstance(node, dict):
            for key in [key for key in node if _LONE_SURROGATE.search(key)]:
                node[clean(key)] = node.pop(key)
            for key, item in node.items():
                if isinstance(item, str):
                    node[key] = clean(item)
                elif isinstance(item, list | dict):
                    pending.append((item, depth + 1))
    return value


def parse_links(headers: dict[str, str], url: str) -> dict[str, str]:
    """The RFC 8288 ``Link`` relations, resolved against the response URL (unusable ones left out).

    Relation types are case-insensitive and one link may carry several (``rel="next last"``):
    each becomes its own lower-case key, the first link to name it winning. (httpx2's parser
    keys ``rel="next last"`` as one relation and ignores ``REL=``, and paging then stopped early.)
    """
    value = headers.get("link")
    if not value:
        return {}
    links: dict[str, str] = {}
    for target, params in _link_values(value):
        for rel in params.get("rel", "").split():
            if rel.lower() not in links:
                with contextlib.suppress(ValueError):
                    links[rel.lower()] = urljoin(url, target)
    return links


_LINK_PARAM = re.compile(r'\s*;\s*([^\s=;,]+)\s*(?:=\s*(?:"((?:[^"\\]|\\.)*)"|([^;,\s]*)))?')


def _link_values(value: str) -> list[tuple[str, dict[str, str]]]:
    """``<target>; name=value; name="quoted, value", …`` as (target, params with lower-case names)."""
    found: list[tuple[str, dict[str, str]]] = []
    position = 0
    while (start := value.find("<", position)) >= 0:
        end = value.find(">", start)
        if end < 0:
            break
        params: dict[str, str] = {}
        position = end + 1
        while match := _LINK_PARAM.match(value, position):
            name, quoted, token = match.groups()
            text = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else (token or "")
            params.setdefault(name.lower(), text)
            position = match.end()
        found.append((value[start + 1 : end].strip(), params))
    return found
