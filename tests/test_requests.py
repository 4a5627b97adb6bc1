"""The request room: a source or an ad-hoc request made into a first request, with its secrets
named for the caller (nothing is added to a redactor behind its back)."""

from __future__ import annotations

import pytest

from mcp_paginate.config import AppConfig, SourceConfig
from mcp_paginate.credentials import Secret
from mcp_paginate.errors import InputError
from mcp_paginate.redaction import Redactor
from mcp_paginate.requests import known_secrets, resolve_ad_hoc, resolve_source
from mcp_paginate.sessions import AdHocRequest

SOURCE = SourceConfig.model_validate(
    {
        "name": "issues",
        "url": "https://api.example.com/repos/{owner}/issues",
        "headers": {"Authorization": "Bearer ${GITHUB_TOKEN}", "X-Owner": "{owner}"},
        "query": {"state": "{state}", "region": "${REGION}"},
        "params": {"owner": "Owner", "state": {"required": False}},
    }
)
ENVIRON = {"GITHUB_TOKEN": "ghp_0123456789", "REGION": "eu-west"}


def test_a_source_resolves_with_its_expanded_values_named_as_secrets() -> None:
    resolved = resolve_source(SOURCE, {"owner": "a b"}, ENVIRON)
    request = resolved.request
    assert request.url == "https://api.example.com/repos/a%20b/issues"
    assert request.headers == {"Authorization": "Bearer ghp_0123456789", "X-Owner": "a b"}
    assert request.query == {"region": "eu-west"}  # the optional param not given is left out
    assert set(resolved.secrets) == {Secret("ghp_0123456789", "GITHUB_TOKEN"), Secret("eu-west", "REGION")}


def test_secrets_reach_a_redactor_only_when_registered() -> None:
    redactor = Redactor()
    resolved = resolve_source(SOURCE, {"owner": "o"}, ENVIRON)
    assert redactor.redact("ghp_0123456789") == "ghp_0123456789"
    assert resolved.register_secrets(redactor) is resolved.request
    assert redactor.redact("token ghp_0123456789") == "token [REDACTED]"
    assert redactor.conceal("ghp_0123456789") == "{secret:GITHUB_TOKEN}"


def test_params_are_taken_literally_never_expanded() -> None:
    resolved = resolve_source(SOURCE, {"owner": "${GITHUB_TOKEN}"}, ENVIRON)
    assert resolved.request.headers["X-Owner"] == "${GITHUB_TOKEN}"


def test_an_unset_variable_is_an_input_error_naming_it() -> None:
    with pytest.raises(InputError, match="needs the environment variable GITHUB_TOKEN, which is not set"):
        resolve_source(SOURCE, {"owner": "o"}, {"REGION": "x"})


def test_an_ad_hoc_request_names_its_credential_header_values_as_secrets() -> None:
    ad_hoc = AdHocRequest(
        url="https://api.example.com/items",
        headers={"X-Api-Key": "key-123456", "X-Session": "sess-98765", "Accept": "application/json"},
        query={"active": True, "limit": 5},
    )
    resolved = resolve_ad_hoc(ad_hoc)
    assert resolved.request.query == {"active": "true", "limit": "5"}
    assert set(resolved.secrets) == {Secret("key-123456"), Secret("sess-98765")}


def test_known_secrets_are_the_presets_keys_and_every_set_variable_sources_name() -> None:
    config = AppConfig.model_validate({"sources": {"issues": SOURCE.model_dump(exclude={"name"})}})
    environ = {**ENVIRON, "ALLOY_API_KEY": "alloy-key-1", "UNRELATED": "x" * 10}
    assert set(known_secrets(config, environ)) == {
        Secret("alloy-key-1", "ALLOY_API_KEY"),
        Secret("ghp_0123456789", "GITHUB_TOKEN"),
        Secret("eu-west", "REGION"),
    }
