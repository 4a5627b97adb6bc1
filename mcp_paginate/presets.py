"""Built-in presets: the Alloy Connectivity API.

Alloy executes connector actions over ``POST /connectors/{connector}/actions/{action}/execute``,
in one of two documented forms (`mcp_paginate.paginators.alloy`): its Pagination guide's
``{"credentialId", "actionId", "input": {..., "limit", "offset"}}`` answered ``{"data": [...],
"pagination": {"hasMore", "nextOffset"}}``, or its API reference's ``{"credentialId",
"queryParameters", "requestBody", "pathParams"}`` answered ``{"responseData": <the third party's
body>}``; either way at most 50 records per request. ``preset = "alloy"`` in a source table
expands to that (``form`` pins one form), and whenever ``ALLOY_API_KEY`` is set the built-in
sources exist: ``alloy`` (run an action), and for discovery ``alloy_connectors``,
``alloy_actions`` (a connector's actions) and ``alloy_action`` (an action's parameters).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcp_paginate.paginators.alloy import ALLOY_RECORDS

__all__ = [
    "ALLOY_MAX_PAGE_SIZE",
    "PRESET_SECRET_VARIABLES",
    "alloy_discovery_sources",
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

_PRESET_FIELDS = {
    "preset",
    "connector",
    "action",
    "credential_id",
    "user_id",
    "base_url",
    "api_version",
    "form",
}
ALLOY_FORMS = ("auto", "guide", "reference")


def alloy_source(
    *,
    description: str | None = None,
    connector: str | None = None,
    action: str | None = None,
    credential_id: str | None = None,
    user_id: str | None = None,
    base_url: str | None = None,
    api_version: str | None = None,
    form: str = "auto",
) -> dict[str, Any]:
    """The source table for an Alloy action; fixed values become param defaults.

    Values may be ``${ENV}`` references; they are expanded at request time only. ``form`` is
    'auto' (the first answer decides), 'guide' or 'reference'.
    """

    def param(text: str, default: Any, required: bool = True) -> dict[str, Any]:
        return {"description": text, "default": default, "required": required}

    return {
        "description": description
        or "Alloy Connectivity API: run a connector action and page through its records (50 per request).",
        "url": (base_url or ALLOY_DEFAULT_BASE_URL).rstrip("/")
        + "/connectors/{connector}/actions/{action}/execute",
        "method": "POST",
        "headers": _headers(api_version) | {"Content-Type": "application/json"},
        "body": {"credentialId": "{credential_id}", "actionId": "{action}", "input": "{input}"},
        "params": {
            "connector": param("Connector id, e.g. 'hubspot'", connector),
            "action": param("Action id, e.g. 'listContacts'", action),
            "credential_id": param("Alloy credential id for the connected account", credential_id),
            "user_id": param("Alloy user id (x-alloy-userid)", user_id),
            "input": param(
                "Action input (filters etc.) by parameter name, placed where the action takes it; "
                "paging values are added. Parameters: see source alloy_action",
                {},
                False,
            ),
        },
        "records": ALLOY_RECORDS,
        "max_page_size": ALLOY_MAX_PAGE_SIZE,
        "pagination": {"mode": "alloy", "form": form, "page_size": ALLOY_MAX_PAGE_SIZE},
    }


def alloy_discovery_sources(
    *, user_id: str | None = None, base_url: str | None = None, api_version: str | None = None
) -> dict[str, dict[str, Any]]:
    """Sources over Alloy's metadata endpoints: which connectors exist, a connector's actions,
    and an action's parameters (name, and ``in``: query, body or path)."""
    root = (base_url or ALLOY_DEFAULT_BASE_URL).rstrip("/") + "/connectors"
    user = {
        "user_id": {"description": "Alloy user id (x-alloy-userid)", "default": user_id, "required": False}
    }
    connector = {"connector": {"description": "Connector id, e.g. 'hubspot' (see alloy_connectors)"}}
    action = {"action": {"description": "Action id, e.g. 'listContacts' (see alloy_actions)"}}
    headers = _headers(api_version)
    return {
        "alloy_connectors": {
            "description": "Alloy: the connectors there are (ids for the alloy source's connector param).",
            "url": root,
            "headers": headers,
            "params": user,
            "pagination": {"mode": "none"},
        },
        "alloy_actions": {
            "description": "Alloy: a connector's actions (ids for the alloy source's action param).",
            "url": root + "/{connector}/actions",
            "headers": headers,
            "params": connector | user,
            "pagination": {"mode": "none"},
        },
        "alloy_action": {
            "description": (
                "Alloy: an action's parameters (name, in: query/body/path), for the alloy source's input."
            ),
            "url": root + "/{connector}/actions/{action}",
            "headers": headers,
            "params": connector | action | user,
            "records": "action.parameters",
            "pagination": {"mode": "none"},
        },
    }


def _headers(api_version: str | None) -> dict[str, str]:
    return {
        "Authorization": "Bearer ${ALLOY_API_KEY}",
        "x-api-version": api_version or ALLOY_DEFAULT_API_VERSION,
        "x-alloy-userid": "{user_id}",
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
    form = fields.get("form", "auto")
    if form not in ALLOY_FORMS:
        raise ValueError(f"form must be one of {', '.join(ALLOY_FORMS)}, got {form!r}")
    expanded = alloy_source(
        description=table.get("description"),
        connector=fields.get("connector"),
        action=fields.get("action"),
        credential_id=fields.get("credential_id") or _env_default("ALLOY_CREDENTIAL_ID", environ),
        user_id=fields.get("user_id") or _env_default("ALLOY_USER_ID", environ),
        base_url=fields.get("base_url") or environ.get("ALLOY_BASE_URL"),
        api_version=fields.get("api_version") or environ.get("ALLOY_API_VERSION"),
        form=form,
    )
    overrides = {k: v for k, v in table.items() if k not in _PRESET_FIELDS}
    if overrides.get("max_page_size", 0) > ALLOY_MAX_PAGE_SIZE:
        raise ValueError(f"the Alloy API accepts at most {ALLOY_MAX_PAGE_SIZE} records per request")
    return {**expanded, **overrides}


def builtin_sources(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The built-in sources when ``ALLOY_API_KEY`` is set: ``alloy``, and Alloy's discovery
    sources (`alloy_discovery_sources`)."""
    if not environ.get("ALLOY_API_KEY"):
        return {}
    base_url = environ.get("ALLOY_BASE_URL") or ALLOY_DEFAULT_BASE_URL
    api_version = environ.get("ALLOY_API_VERSION") or ALLOY_DEFAULT_API_VERSION
    user_id = _env_default("ALLOY_USER_ID", environ)
    return {
        "alloy": alloy_source(
            credential_id=_env_default("ALLOY_CREDENTIAL_ID", environ),
            user_id=user_id,
            base_url=base_url,
            api_version=api_version,
        ),
        **alloy_discovery_sources(user_id=user_id, base_url=base_url, api_version=api_version),
    }


def _env_default(name: str, environ: Mapping[str, str]) -> str | None:
    """A ``${NAME}`` reference when NAME is set (expanded at request time), else None."""
    return "${" + name + "}" if environ.get(name) else None
