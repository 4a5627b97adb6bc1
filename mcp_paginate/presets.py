"""Built-in presets: the Alloy Connectivity API.

Alloy executes connector actions over ``POST /connectors/{connector}/actions/{action}/execute``
with ``{"credentialId", "actionId", "input": {..., "limit", "offset"}}``, returns
``{"data": [...], "pagination": {"hasMore", "nextOffset"}}``, and accepts at most
50 records per request. ``preset = "alloy"`` in a source table expands to that,
and the built-in source ``alloy`` exists whenever ``ALLOY_API_KEY`` is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "ALLOY_MAX_PAGE_SIZE",
    "PRESET_SECRET_VARIABLES",
    "alloy_source",
    "builtin_sources",
    "expand_preset",
]

ALLOY_MAX_PAGE_SIZE = 50
ALLOY_DEFAULT_BASE_URL = "https://production.runalloy.com"
ALLOY_DEFAULT_API_VERSION = "2025-09"

PRESET_SECRET_VARIABLES = ("ALLOY_API_KEY",)
"""Variables the presets send as credentials: masked from the server's start whenever they are set,
whether or not a configured source refers to them."""

_PRESET_FIELDS = {"preset", "connector", "action", "credential_id", "user_id", "base_url", "api_version"}


def alloy_source(
    *,
    description: str | None = None,
    connector: str | None = None,
    action: str | None = None,
    credential_id: str | None = None,
    user_id: str | None = None,
    base_url: str | None = None,
    api_version: str | None = None,
) -> dict[str, Any]:
    """The source table for an Alloy action; fixed values become param defaults.

    Values may be ``${ENV}`` references; they are expanded at request time only.
    """

    def param(text: str, default: Any, required: bool = True) -> dict[str, Any]:
        return {"description": text, "default": default, "required": required}

    return {
        "description": description
        or "Alloy Connectivity API: run a connector action and page through its records (50 per request).",
        "url": (base_url or ALLOY_DEFAULT_BASE_URL).rstrip("/")
        + "/connectors/{connector}/actions/{action}/execute",
        "method": "POST",
        "headers": {
            "Authorization": "Bearer ${ALLOY_API_KEY}",
            "x-api-version": api_version or ALLOY_DEFAULT_API_VERSION,
            "x-alloy-userid": "{user_id}",
            "Content-Type": "application/json",
        },
        "body": {"credentialId": "{credential_id}", "actionId": "{action}", "input": "{input}"},
        "params": {
            "connector": param("Connector id, e.g. 'hubspot'", connector),
            "action": param("Action id, e.g. 'listContacts'", action),
            "credential_id": param("Alloy credential id for the connected account", credential_id),
            "user_id": param("Alloy user id (x-alloy-userid)", user_id),
            "input": param("Extra action input object (filters etc.), merged with limit/offset", {}, False),
        },
        "records": "data",
        "max_page_size": ALLOY_MAX_PAGE_SIZE,
        "pagination": {
            "mode": "offset",
            "page_size": ALLOY_MAX_PAGE_SIZE,
            "limit_param": {"in": "body", "name": "input.limit"},
            "offset_param": {"in": "body", "name": "input.offset"},
            "has_more": "pagination.hasMore",
            "next_offset": "pagination.nextOffset",
        },
    }


def expand_preset(table: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Expand ``preset = "alloy"`` in a source table; other keys override the preset's.

    ``ALLOY_BASE_URL`` and ``ALLOY_API_VERSION`` in the environment apply unless the
    table sets ``base_url`` / ``api_version``.
    """
    preset = table.get("preset")
    if preset != "alloy":
        raise ValueError(f"unknown preset {preset!r}; the only preset is 'alloy'")
    fields = {k: v for k, v in table.items() if k in _PRESET_FIELDS and k != "preset"}
    expanded = alloy_source(
        description=table.get("description"),
        connector=fields.get("connector"),
        action=fields.get("action"),
        credential_id=fields.get("credential_id") or _env_default("ALLOY_CREDENTIAL_ID", environ),
        user_id=fields.get("user_id") or _env_default("ALLOY_USER_ID", environ),
        base_url=fields.get("base_url") or environ.get("ALLOY_BASE_URL"),
        api_version=fields.get("api_version") or environ.get("ALLOY_API_VERSION"),
    )
    overrides = {k: v for k, v in table.items() if k not in _PRESET_FIELDS}
    if overrides.get("max_page_size", 0) > ALLOY_MAX_PAGE_SIZE:
        raise ValueError(f"the Alloy API accepts at most {ALLOY_MAX_PAGE_SIZE} records per request")
    return {**expanded, **overrides}


def builtin_sources(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The built-in sources: ``alloy`` when ``ALLOY_API_KEY`` is set."""
    if not environ.get("ALLOY_API_KEY"):
        return {}
    return {
        "alloy": alloy_source(
            credential_id=_env_default("ALLOY_CREDENTIAL_ID", environ),
            user_id=_env_default("ALLOY_USER_ID", environ),
            base_url=environ.get("ALLOY_BASE_URL") or ALLOY_DEFAULT_BASE_URL,
            api_version=environ.get("ALLOY_API_VERSION") or ALLOY_DEFAULT_API_VERSION,
        )
    }


def _env_default(name: str, environ: Mapping[str, str]) -> str | None:
    """A ``${NAME}`` reference when NAME is set (expanded at request time), else None."""
    return "${" + name + "}" if environ.get(name) else None
