"""The TOML config: loading, ``${ENV}`` at request time only, params, validation, the Alloy preset
and built-in source, and ``mcp-paginate sources`` as a user runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mcp_paginate import tools
from mcp_paginate.app import open_app
from mcp_paginate.arguments import PagingArguments
from mcp_paginate.config import AppConfig, SourceConfig, default_config_path, load_config
from mcp_paginate.errors import ConfigError, InputError
from mcp_paginate.expressions import search
from mcp_paginate.paginators import CursorPagination, OffsetPagination, PagePagination, PreparedRequest
from mcp_paginate.redaction import Redactor
from mcp_paginate.requests import resolve_source
from mcp_paginate.sample import SampleAPI

SPEC_EXAMPLE = """\
[server]
allowed_hosts = ["api.example.com", "127.0.0.1:8080"]  # hosts ad-hoc `request.url` may reach; default none
session_ttl_seconds = 86400
max_inline_chars = 60000        # budget for records returned inline by one tool result
max_records = 100000            # ceiling for fetch_all, whatever the caller asks

[sources.github_issues]
description = "Issues of a GitHub repository"
url = "https://api.github.com/repos/{owner}/{repo}/issues"   # {placeholders} come from params
method = "GET"
headers = { Authorization = "Bearer ${GITHUB_TOKEN}" }         # ${ENV} expanded at load, never shown
query = { state = "open" }
params = { owner = "Repository owner", repo = "Repository name" }  # what the assistant supplies
records = "@"                                                  # JMESPath to the record list
max_page_size = 100

[sources.github_issues.pagination]
mode = "cursor"
next = { link = "next" }                                       # RFC 8288 Link rel="next"
cursor_param = { in = "url" }                                  # the next link replaces the URL
page_size = 100
size_param = { in = "query", name = "per_page" }

[sources.hubspot_contacts]
preset = "alloy"                       # Alloy Connectivity API
connector = "hubspot"
action = "listContacts"
credential_id = "${ALLOY_CREDENTIAL_ID}"
"""

GITHUB_TOKEN = "ghp_unit_test_token_7d1e"
ALLOY_KEY = "alloy-config-test-key-93ab"
ALLOY_ENVIRON = {
    "ALLOY_API_KEY": ALLOY_KEY,
    "ALLOY_CREDENTIAL_ID": "cred-from-env",
    "ALLOY_USER_ID": "user-from-env",
}
ALLOY_PARAMS = {"connector": "hubspot", "action": "listContacts"}


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def one_source(tmp_path: Path, table: str, name: str = "things") -> SourceConfig:
    config = load_config(write(tmp_path, f"[sources.{name}]\n{table}"), environ={})
    return config.sources[name]


def first_request(source: SourceConfig, params: dict[str, Any], environ: dict[str, str]) -> PreparedRequest:
    """The first request the engine would send: params resolved, then the first page's state applied."""
    request = resolve_source(source, source.check_params(params), environ).register_secrets(Redactor())
    pagination = source.pagination
    assert isinstance(pagination, OffsetPagination | CursorPagination)
    pagination.apply(request, pagination.first_state(pagination.page_size))
    return request


# --------------------------------------------------------------------------------------------
# The SPEC example
# --------------------------------------------------------------------------------------------


def test_spec_example_config_loads(tmp_path: Path) -> None:
    path = write(tmp_path, SPEC_EXAMPLE)
    config = load_config(path, environ={"GITHUB_TOKEN": GITHUB_TOKEN})
    assert config.path == str(path)
    assert config.server.allowed_hosts == ["api.example.com", "127.0.0.1:8080"]
    assert config.server.max_inline_chars == 60000 and config.server.max_records == 100000
    assert set(config.sources) == {"github_issues", "hubspot_contacts"}

    github = config.sources["github_issues"]
    assert github.name == "github_issues"
    assert github.method == "GET" and github.records == "@" and github.max_page_size == 100
    assert set(github.params) == {"owner", "repo"}
    assert all(spec.required for spec in github.params.values())
    assert github.params["owner"].description == "Repository owner"
    pagination = github.pagination
    assert isinstance(pagination, CursorPagination)
    assert pagination.next.link == "next"
    assert pagination.cursor_param.in_ == "url"
    assert pagination.size_param is not None and pagination.size_param.name == "per_page"

    hubspot = config.sources["hubspot_contacts"]
    assert hubspot.method == "POST"
    assert hubspot.url.endswith("/connectors/{connector}/actions/{action}/execute")
    assert hubspot.max_page_size == 50
    assert isinstance(hubspot.pagination, OffsetPagination)
    assert hubspot.pagination.has_more == "pagination.hasMore"
    assert hubspot.pagination.next_offset == "pagination.nextOffset"


def test_spec_example_github_request_is_built_from_params(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SPEC_EXAMPLE), environ={})
    request = first_request(
        config.sources["github_issues"], {"owner": "octo", "repo": "hello"}, {"GITHUB_TOKEN": GITHUB_TOKEN}
    )
    assert request.method == "GET"
    assert request.url == "https://api.github.com/repos/octo/hello/issues"
    assert request.query == {"state": "open", "per_page": "100"}
    assert request.headers["Authorization"] == f"Bearer {GITHUB_TOKEN}"


def test_spec_example_hubspot_preset_request(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SPEC_EXAMPLE), environ={})
    request = first_request(config.sources["hubspot_contacts"], {"user_id": "u-9"}, ALLOY_ENVIRON)
    assert request.url == "https://production.runalloy.com/connectors/hubspot/actions/listContacts/execute"
    # form "auto": the first request carries both of Alloy's forms (the first answer decides)
    assert request.body == {
        "credentialId": "cred-from-env",
        "actionId": "listContacts",
        "input": {"limit": 50, "offset": 0},
        "queryParameters": {"limit": 50},
    }
    assert request.headers["x-alloy-userid"] == "u-9"


# --------------------------------------------------------------------------------------------
# ${ENV}: kept at load, expanded at request time, redacted
# --------------------------------------------------------------------------------------------


def test_env_references_are_not_expanded_at_load(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SPEC_EXAMPLE), environ={"GITHUB_TOKEN": GITHUB_TOKEN})
    github = config.sources["github_issues"]
    assert github.headers["Authorization"] == "Bearer ${GITHUB_TOKEN}"
    assert GITHUB_TOKEN not in config.model_dump_json()
    assert github.env_references() == {"GITHUB_TOKEN"}
    assert github.secret_header_names() == {"authorization"}


def test_resolve_expands_env_and_registers_the_value_with_the_redactor(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SPEC_EXAMPLE), environ={})
    redactor = Redactor()
    request = resolve_source(
        config.sources["github_issues"], {"owner": "o", "repo": "r"}, {"GITHUB_TOKEN": GITHUB_TOKEN}
    ).register_secrets(redactor)
    assert request.headers["Authorization"] == f"Bearer {GITHUB_TOKEN}"
    assert redactor.redact(f"401 for token {GITHUB_TOKEN}") == "401 for token [REDACTED]"


def test_resolve_with_a_missing_env_variable_names_it_and_the_source(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SPEC_EXAMPLE), environ={})
    with pytest.raises(InputError, match="GITHUB_TOKEN") as caught:
        resolve_source(config.sources["github_issues"], {"owner": "o", "repo": "r"}, {}).register_secrets(
            Redactor()
        )
    assert "github_issues" in str(caught.value)
    assert caught.value.source == "github_issues"


def test_env_in_url_query_body_and_param_defaults_is_expanded_at_request_time(tmp_path: Path) -> None:
    source = one_source(
        tmp_path,
        'url = "https://${API_HOST}/v1/{account}/items"\n'
        'method = "POST"\n'
        'query = { key = "${API_KEY}" }\n'
        'body = { token = "${API_KEY}", account = "{account}" }\n'
        'params = { account = { description = "Account", default = "${DEFAULT_ACCOUNT}" } }\n',
    )
    environ = {"API_HOST": "api.internal.test", "API_KEY": "k-123456", "DEFAULT_ACCOUNT": "acct-77"}
    redactor = Redactor()
    request = resolve_source(source, source.check_params({}), environ).register_secrets(redactor)
    assert request.url == "https://api.internal.test/v1/acct-77/items"
    assert request.query == {"key": "k-123456"}
    assert request.body == {"token": "k-123456", "account": "acct-77"}
    assert redactor.redact("k-123456 acct-77") == "[REDACTED] [REDACTED]"


def test_assistant_params_are_never_env_expanded(tmp_path: Path) -> None:
    source = one_source(
        tmp_path,
        'url = "https://api.example.test/{owner}/items"\n'
        'headers = { "X-Owner" = "{owner}", Authorization = "Bearer ${SECRET_TOKEN}" }\n'
        'query = { q = "{owner}" }\n'
        'params = { owner = "Owner" }\n',
    )
    environ = {"SECRET_TOKEN": "s3cret-value-xyz"}
    request = resolve_source(
        source, source.check_params({"owner": "${SECRET_TOKEN}"}), environ
    ).register_secrets(Redactor())
    assert request.headers["X-Owner"] == "${SECRET_TOKEN}"
    assert request.query == {"q": "${SECRET_TOKEN}"}
    assert request.url == "https://api.example.test/%24%7BSECRET_TOKEN%7D/items"
    # The only place the secret goes is the header the config wrote.
    assert request.headers["Authorization"] == "Bearer s3cret-value-xyz"
    assert "s3cret" not in request.url + str(request.query) + request.headers["X-Owner"]


def test_alloy_param_holding_an_env_reference_is_sent_literally() -> None:
    config = load_config(None, environ=ALLOY_ENVIRON)
    alloy = config.sources["alloy"]
    params = {**ALLOY_PARAMS, "credential_id": "${ALLOY_API_KEY}", "input": {"q": "${ALLOY_API_KEY}"}}
    request = first_request(alloy, params, ALLOY_ENVIRON)
    assert request.body["credentialId"] == "${ALLOY_API_KEY}"
    assert request.body["input"] == {"q": "${ALLOY_API_KEY}", "limit": 50, "offset": 0}
    assert ALLOY_KEY not in str(request.body)
    assert request.headers["Authorization"] == f"Bearer {ALLOY_KEY}"


# --------------------------------------------------------------------------------------------
# {placeholders} and params
# --------------------------------------------------------------------------------------------


def test_url_placeholders_are_url_quoted(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SPEC_EXAMPLE), environ={})
    request = resolve_source(
        config.sources["github_issues"], {"owner": "a/b c", "repo": "x?y#z&w"}, {"GITHUB_TOKEN": GITHUB_TOKEN}
    ).register_secrets(Redactor())
    assert request.url == "https://api.github.com/repos/a%2Fb%20c/x%3Fy%23z%26w/issues"


def test_whole_value_placeholders_keep_the_params_json_type(tmp_path: Path) -> None:
    source = one_source(
        tmp_path,
        'url = "https://api.example.test/search"\n'
        'method = "POST"\n'
        'body = { filter = "{filter}", note = "prefix-{name}" }\n'
        'params = { filter = "Filter object", name = { description = "n", required = false } }\n',
    )
    request = resolve_source(
        source, {"filter": {"state": ["open", "closed"]}, "name": 7}, {}
    ).register_secrets(Redactor())
    assert request.body == {"filter": {"state": ["open", "closed"]}, "note": "prefix-7"}


def test_optional_param_not_given_drops_its_body_key(tmp_path: Path) -> None:
    source = one_source(
        tmp_path,
        'url = "https://api.example.test/search"\n'
        'method = "POST"\n'
        'body = { filter = "{filter}", fixed = 1 }\n'
        'params = { filter = { description = "optional filter", required = false } }\n',
    )
    request = resolve_source(source, source.check_params({}), {}).register_secrets(Redactor())
    assert request.body == {"fixed": 1}


def test_undeclared_placeholder_is_rejected_at_load(tmp_path: Path) -> None:
    path = write(tmp_path, '[sources.orgs]\nurl = "https://api.example.test/orgs/{org}/members"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    message = str(caught.value)
    assert str(path) in message
    assert "[sources.orgs]" in message
    assert "'org'" in message and "params" in message


def test_undeclared_placeholder_in_a_header_is_rejected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[sources.orgs]\nurl = "https://api.example.test/members"\nheaders = { "X-Org" = "{org}" }\n',
    )
    with pytest.raises(ConfigError, match="org"):
        load_config(path, environ={})


def test_jinja_braces_and_env_references_are_not_placeholders(tmp_path: Path) -> None:
    source = one_source(
        tmp_path,
        'url = "https://api.example.test/items"\n'
        'headers = { Authorization = "Bearer ${TOKEN}" }\n'
        "[sources.things.pagination]\n"
        'mode = "offset"\n'
        'offset_param = { in = "query", name = "range", '
        'template = "{{ offset }}-{{ offset + page_size }}" }\n',
    )
    assert source.params == {}


PATH_SOURCE = """[sources.pages]
url = "https://api.example.test/{org}/items/page/{page}"
params = { org = "Organisation" }
query = { state = "open" }
[sources.pages.pagination]
mode = "page"
page_size = 3
size_param = { in = "query", name = "per_page" }
page_param = { in = "path", name = "page" }
"""


def test_a_path_paging_placeholder_is_not_a_param_and_is_filled_on_every_request(tmp_path: Path) -> None:
    source = load_config(write(tmp_path, PATH_SOURCE), environ={}).sources["pages"]
    assert set(source.params) == {"org"}
    assert source.check_params({"org": "a/b"}) == {"org": "a/b"}
    request = resolve_source(source, {"org": "a/b"}, {}).register_secrets(Redactor())
    assert request.url == "https://api.example.test/a%2Fb/items/page/{page}"
    pagination = source.pagination
    assert isinstance(pagination, PagePagination)
    second = request.copy()
    pagination.apply(second, pagination.first_state(3).model_copy(update={"page": 2}))
    assert second.url == "https://api.example.test/a%2Fb/items/page/2"
    assert second.query == {"state": "open", "per_page": "3"}


@pytest.mark.parametrize(
    ("url", "params", "pagination", "found"),
    [
        (  # the placeholder is not in the url at all
            "https://api.example.test/items",
            "",
            'page_param = { in = "path", name = "page" }',
            "pagination.page_param is in='path' with name 'page', but the url has no {page}",
        ),
        (  # in the query string: that is what in='query' is for
            "https://api.example.test/items?p={page}",
            "",
            'page_param = { in = "path", name = "page" }',
            "but the url has no {page} in its path",
        ),
        (  # both a param and a paging value
            "https://api.example.test/items/{page}",
            'params = { page = "Page" }',
            'page_param = { in = "path", name = "page" }',
            "{page} is both a param and pagination.page_param",
        ),
        (  # two paging values into one placeholder
            "https://api.example.test/items/{page}",
            "",
            'page_param = { in = "path", name = "page" }\nsize_param = { in = "path", name = "page" }',
            "pagination.size_param and pagination.page_param both fill {page}",
        ),
        (  # a name that cannot be a placeholder
            "https://api.example.test/items/{page}",
            "",
            'page_param = { in = "path", name = "{page}" }',
            "name '{page}' must be the name of a {placeholder}",
        ),
    ],
)
def test_path_paging_options_are_checked_at_load(
    tmp_path: Path, url: str, params: str, pagination: str, found: str
) -> None:
    text = (
        f'[sources.pages]\nurl = "{url}"\n{params}\n[sources.pages.pagination]\nmode = "page"\n{pagination}\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), environ={})
    message = str(caught.value)
    assert "[sources.pages]" in message and found in message


def test_unknown_param_is_an_input_error_naming_the_source_and_the_known_params(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SPEC_EXAMPLE), environ={})
    with pytest.raises(InputError) as caught:
        config.sources["github_issues"].check_params({"owner": "o", "repo": "r", "org": "x"})
    message = str(caught.value)
    assert "github_issues" in message and "'org'" in message
    assert "owner" in message and "repo" in message
    assert caught.value.source == "github_issues"


def test_missing_required_param_is_an_input_error_naming_the_source_and_param(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SPEC_EXAMPLE), environ={})
    with pytest.raises(InputError) as caught:
        config.sources["github_issues"].check_params({"owner": "o"})
    message = str(caught.value)
    assert "github_issues" in message and "'repo'" in message and "Repository name" in message


def test_params_with_none_values_count_as_not_given(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SPEC_EXAMPLE), environ={})
    with pytest.raises(InputError, match="repo"):
        config.sources["github_issues"].check_params({"owner": "o", "repo": None})


# --------------------------------------------------------------------------------------------
# Validation errors name the file, the source and the field
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "field", "words"),
    [
        ('url = "https://x.test/a"\nmax_page_size = 0\n', "max_page_size", "greater than or equal to 1"),
        ('url = "https://x.test/a"\nmethod = "DELETE"\n', "method", "GET"),
        ('url = "https://x.test/a"\nrecords = "data[[["\n', "records", "JMESPath"),
        ('url = "https://x.test/a"\npagination = { mode = "sideways" }\n', "pagination", "sideways"),
        (
            'url = "https://x.test/a"\n'
            'pagination = { mode = "cursor", next = { body = "a", header = "b" } }\n',
            "next",
            "exactly one",
        ),
        (
            'url = "https://x.test/a"\npagination = { mode = "offset", offset_param = { in = "query" } }\n',
            "offset_param",
            "needs a 'name'",
        ),
        (
            'url = "https://x.test/a"\npagination = { mode = "page", page_param = { in = "url" } }\n',
            "page_param",
            "page_param cannot be in='url'",
        ),
        ('url = "https://x.test/a"\nunknown_key = 1\n', "unknown_key", "Extra inputs"),
        ('description = "no url"\n', "url", "Field required"),
        ('preset = "stripe"\n', "(table)", "unknown preset"),
        ('preset = "alloy"\nmax_page_size = 100\n', "(table)", "at most 50"),
    ],
)
def test_validation_errors_name_the_file_the_source_and_the_field(
    tmp_path: Path, table: str, field: str, words: str
) -> None:
    path = write(tmp_path, f'[sources.good]\nurl = "https://x.test/ok"\n\n[sources.bad_one]\n{table}')
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    message = str(caught.value)
    assert str(path) in message
    line = next(line for line in message.splitlines() if "[sources.bad_one]" in line)
    assert field in line and words in line
    assert "[sources.good]" not in message


def test_server_table_errors_name_the_field(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nmax_inline_chars = 5\nsurprise = true\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    message = str(caught.value)
    assert str(path) in message
    assert "server.max_inline_chars" in message and "server.surprise" in message


def test_invalid_toml_and_missing_file_are_config_errors_naming_the_file(tmp_path: Path) -> None:
    broken = write(tmp_path, "[sources.x\nurl = ")
    with pytest.raises(ConfigError, match="not valid TOML") as caught:
        load_config(broken, environ={})
    assert str(broken) in str(caught.value)
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="does not exist") as caught:
        load_config(missing, environ={})
    assert str(missing) in str(caught.value)


def test_toml_false_disables_a_limit_param(tmp_path: Path) -> None:
    source = one_source(
        tmp_path,
        'url = "https://x.test/a"\n[sources.things.pagination]\nmode = "offset"\nlimit_param = false\n',
    )
    assert isinstance(source.pagination, OffsetPagination)
    assert source.pagination.limit_param is None


def test_source_without_pagination_defaults_to_auto(tmp_path: Path) -> None:
    assert one_source(tmp_path, 'url = "https://x.test/a"\n').pagination.mode == "auto"


def test_config_file_from_environment_variable(tmp_path: Path) -> None:
    path = write(tmp_path, SPEC_EXAMPLE)
    assert default_config_path({"MCP_PAGINATE_CONFIG": str(path)}) == path


# --------------------------------------------------------------------------------------------
# The built-in alloy source
# --------------------------------------------------------------------------------------------


def test_builtin_alloy_source_exists_only_when_the_api_key_is_set() -> None:
    assert "alloy" not in load_config(None, environ={}).sources
    assert "alloy" not in load_config(None, environ={"ALLOY_API_KEY": ""}).sources
    assert "alloy" in load_config(None, environ={"ALLOY_API_KEY": ALLOY_KEY}).sources


def test_builtin_alloy_source_exists_alongside_a_config_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SPEC_EXAMPLE), environ=ALLOY_ENVIRON)
    assert {"alloy", "github_issues", "hubspot_contacts"} <= set(config.sources)


def test_builtin_alloy_params_and_defaults_from_environment() -> None:
    alloy = load_config(None, environ=ALLOY_ENVIRON).sources["alloy"]
    assert list(alloy.params) == ["connector", "action", "credential_id", "user_id", "input"]
    assert alloy.params["credential_id"].default == "${ALLOY_CREDENTIAL_ID}"
    assert alloy.params["user_id"].default == "${ALLOY_USER_ID}"
    assert alloy.params["input"].required is False
    assert alloy.max_page_size == 50
    bare = load_config(None, environ={"ALLOY_API_KEY": ALLOY_KEY}).sources["alloy"]
    with pytest.raises(InputError, match="credential_id"):
        bare.check_params(ALLOY_PARAMS)


def test_builtin_alloy_sends_exactly_the_spec_request() -> None:
    alloy = load_config(None, environ=ALLOY_ENVIRON).sources["alloy"]
    request = first_request(
        alloy, {**ALLOY_PARAMS, "input": {"filter": {"email": "a@b.test"}}}, ALLOY_ENVIRON
    )
    assert request.method == "POST"
    assert request.url == "https://production.runalloy.com/connectors/hubspot/actions/listContacts/execute"
    assert request.query == {}
    assert request.headers["Authorization"] == f"Bearer {ALLOY_KEY}"
    assert request.headers["x-api-version"] == "2025-09"
    assert request.headers["x-alloy-userid"] == "user-from-env"
    # form "auto": the guide's fields, and the reference form's (no metadata known here: query)
    assert request.body == {
        "credentialId": "cred-from-env",
        "actionId": "listContacts",
        "input": {"filter": {"email": "a@b.test"}, "limit": 50, "offset": 0},
        "queryParameters": {"filter": {"email": "a@b.test"}, "limit": 50},
    }
    assert search(alloy.records or "", {"data": [1], "pagination": {}}) == [1]


def test_builtin_alloy_params_override_the_environment_defaults() -> None:
    alloy = load_config(None, environ=ALLOY_ENVIRON).sources["alloy"]
    request = first_request(alloy, {**ALLOY_PARAMS, "credential_id": "c-2", "user_id": "u-2"}, ALLOY_ENVIRON)
    assert request.body["credentialId"] == "c-2"
    assert request.headers["x-alloy-userid"] == "u-2"


def test_alloy_base_url_and_api_version_overrides() -> None:
    environ = {**ALLOY_ENVIRON, "ALLOY_BASE_URL": "http://127.0.0.1:9/", "ALLOY_API_VERSION": "2026-01"}
    alloy = load_config(None, environ=environ).sources["alloy"]
    request = first_request(alloy, ALLOY_PARAMS, environ)
    assert request.url == "http://127.0.0.1:9/connectors/hubspot/actions/listContacts/execute"
    assert request.headers["x-api-version"] == "2026-01"


def test_alloy_preset_base_url_in_the_table_beats_the_environment(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[sources.crm]\npreset = "alloy"\nbase_url = "https://alloy.internal.test"\n'
        'connector = "salesforce"\naction = "listAccounts"\n',
    )
    config = load_config(path, environ={**ALLOY_ENVIRON, "ALLOY_BASE_URL": "http://elsewhere.test"})
    request = first_request(config.sources["crm"], {}, ALLOY_ENVIRON)
    assert request.url == "https://alloy.internal.test/connectors/salesforce/actions/listAccounts/execute"
    assert request.body["actionId"] == "listAccounts"


@pytest.mark.anyio
async def test_builtin_alloy_source_pages_the_sample_api_with_the_right_credentials() -> None:
    with SampleAPI(records=60, api_key=ALLOY_KEY) as api:
        environ = {**ALLOY_ENVIRON, "ALLOY_BASE_URL": api.url}
        async with open_app(load_config(None, environ=environ), "memory://", environ=environ) as app:
            first = await tools.list_page(app, PagingArguments(source="alloy", params=ALLOY_PARAMS))
            assert [r["id"] for r in first.records] == list(range(1, 51))
            assert first.page.request == {"offset": 0, "limit": 50}
            assert first.next_cursor is not None
            second = await tools.list_page(app, PagingArguments(cursor=first.next_cursor))
            assert [r["id"] for r in second.records] == list(range(51, 61))
            assert second.next_cursor is None
        # the action's metadata (once), then the two pages
        assert api.stats.authorizations == [f"Bearer {ALLOY_KEY}"] * 3


@pytest.mark.anyio
async def test_alloy_key_never_appears_in_results_or_notes() -> None:
    with SampleAPI(records=5) as api:
        environ = {**ALLOY_ENVIRON, "ALLOY_BASE_URL": api.url}
        async with open_app(load_config(None, environ=environ), "memory://", environ=environ) as app:
            result = await tools.list_page(
                app, PagingArguments(source="alloy", params=ALLOY_PARAMS, page_size=500)
            )
    text = result.model_dump_json()
    assert ALLOY_KEY not in text
    assert any("50" in note for note in result.notes)


def test_app_config_from_python_objects_names_sources() -> None:
    config = AppConfig.model_validate({"sources": {"s": {"url": "https://x.test/a"}}})
    assert config.sources["s"].name == "s"


# --------------------------------------------------------------------------------------------
# mcp-paginate sources (the installed console script)
# --------------------------------------------------------------------------------------------


def console_script() -> str:
    beside = Path(sys.executable).parent / "mcp-paginate"
    found = str(beside) if beside.exists() else shutil.which("mcp-paginate")
    assert found, "the mcp-paginate console script is not installed"
    return found


def run_sources(tmp_path: Path, config: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "COLUMNS": "250",
        "NO_COLOR": "1",
        **extra_env,
    }
    return subprocess.run(
        [console_script(), "sources", "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def listed_sources(table: str) -> set[str]:
    """The first column of the rows of the sources table."""
    names = set()
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip("│┃ ").split("│")]
        if len(cells) >= 5 and cells[0] and cells[0] != "source":
            names.add(cells[0])
    return names


def test_sources_command_prints_the_sources(tmp_path: Path) -> None:
    config = write(tmp_path, SPEC_EXAMPLE)
    done = run_sources(tmp_path, config, GITHUB_TOKEN=GITHUB_TOKEN)
    assert done.returncode == 0, done.stderr
    assert str(config) in done.stdout
    assert "github_issues" in done.stdout and "hubspot_contacts" in done.stdout
    assert "cursor" in done.stdout and "alloy" in done.stdout
    assert listed_sources(done.stdout) == {"github_issues", "hubspot_contacts"}  # no key: no built-in alloy
    assert "api.example.com" in done.stdout
    assert GITHUB_TOKEN not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_sources_command_lists_the_builtin_alloy_source_when_the_key_is_set(tmp_path: Path) -> None:
    config = write(tmp_path, SPEC_EXAMPLE)
    done = run_sources(tmp_path, config, ALLOY_API_KEY=ALLOY_KEY, GITHUB_TOKEN=GITHUB_TOKEN)
    assert done.returncode == 0, done.stderr
    assert listed_sources(done.stdout) == {
        "alloy",
        "alloy_connectors",
        "alloy_actions",
        "alloy_action",
        "github_issues",
        "hubspot_contacts",
    }
    assert ALLOY_KEY not in done.stdout + done.stderr
    # hubspot_contacts reads ${ALLOY_CREDENTIAL_ID}, which this environment lacks: a warning, not a failure.
    assert "ALLOY_CREDENTIAL_ID" in done.stdout


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[sources.orgs]\nurl = "https://x.test/orgs/{org}"\n', ["[sources.orgs]", "org"]),
        (
            '[sources.pages]\nurl = "https://x.test/a"\nmax_page_size = -1\n',
            ["[sources.pages]", "max_page_size"],
        ),
        ("[sources.x\nurl = ", ["not valid TOML"]),
    ],
)
def test_sources_command_exits_non_zero_on_a_bad_config(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    config = write(tmp_path, text)
    done = run_sources(tmp_path, config)
    assert done.returncode != 0
    assert str(config) in done.stderr
    for words in expected:
        assert words in done.stderr
    assert "Traceback" not in done.stderr


def test_sources_command_exits_non_zero_on_a_missing_config(tmp_path: Path) -> None:
    done = run_sources(tmp_path, tmp_path / "absent.toml")
    assert done.returncode != 0
    assert "does not exist" in done.stderr


def test_param_values_are_spelled_as_json_wherever_they_become_text(tmp_path: Path) -> None:
    # An assistant passes JSON: true must reach the API as "true", an object as JSON, however
    # the template uses the param (Python's "True" and "{'k': [1]}" used to leak into URLs,
    # headers and strings).
    source = one_source(
        tmp_path,
        """url = "http://127.0.0.1:9/items/{archived}?f={filter}"
headers = { X-Archived = "{archived}", X-Note = "archived={archived}" }
query = { a = "{archived}", b = "x-{archived}", f = "{filter}", n = "{count}" }
body = { whole = "{archived}", text = "archived={archived}, filter={filter}" }
method = "POST"
[sources.things.params]
archived = "a flag"
filter = { description = "an object", required = false }
count = { description = "a number", required = false }
""",
    )
    values = {"archived": True, "filter": {"k": [1, "é"]}, "count": 2.5}
    request = resolve_source(source, source.check_params(values), {}).register_secrets(Redactor())
    assert request.url == "http://127.0.0.1:9/items/true?f=%7B%22k%22%3A%5B1%2C%22%C3%A9%22%5D%7D"
    assert request.headers == {"X-Archived": "true", "X-Note": "archived=true"}
    assert request.query == {"a": "true", "b": "x-true", "f": '{"k":[1,"é"]}', "n": "2.5"}
    # A whole "{param}" in the body keeps its JSON value; inside a string it is spelled as JSON.
    assert request.body == {"whole": True, "text": 'archived=true, filter={"k":[1,"é"]}'}
