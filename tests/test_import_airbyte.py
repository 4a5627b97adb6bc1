"""`mcp-paginate import airbyte`: manifests written in the style of real connectors are imported,
the TOML is accepted by the config loader and `sources --check`, and the imported sources drain
the sample API through the MCP client with exactly the records Airbyte would read."""

from __future__ import annotations

import importlib.util
import json
import textwrap
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_paginate.cli import main
from mcp_paginate.config import load_config
from mcp_paginate.errors import InputError
from mcp_paginate.importers import import_manifest, render_toml
from mcp_paginate.importers.manifest import load_manifest, manifest_streams
from mcp_paginate.server import create_server
from tests.conftest import structured
from tests.support import ALL_IDS

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "test-key-8d1e"

# One stream per paging shape, written the way connectors write them: shared definitions,
# $ref merges, "#/definitions/..." strings, $parameters carrying path and records field.
MANIFEST = """
version: 6.44.0
type: DeclarativeSource
definitions:
  requester:
    type: HttpRequester
    url_base: "URL_BASE"
    http_method: GET
    authenticator:
      type: BearerAuthenticator
      api_token: "{{ config['api_key'] }}"
  selector:
    type: RecordSelector
    extractor:
      type: DpathExtractor
      field_path: ["{{ parameters.records_field }}"]
  base:
    type: DeclarativeStream
    retriever:
      type: SimpleRetriever
      requester: "#/definitions/requester"
      record_selector: "#/definitions/selector"
  query_option:
    type: RequestOption
    inject_into: request_parameter
streams:
  - $ref: "#/definitions/base"
    name: offset_increment
    $parameters: {path: /offset, records_field: items}
    retriever:
      $ref: "#/definitions/base/retriever"
      paginator:
        type: DefaultPaginator
        page_token_option: {$ref: "#/definitions/query_option", field_name: offset}
        page_size_option: {$ref: "#/definitions/query_option", field_name: limit}
        pagination_strategy: {type: OffsetIncrement, page_size: 45, inject_on_first_request: true}
  - $ref: "#/definitions/base"
    name: offset_from_requester_template
    $parameters: {path: /offset, records_field: items}
    retriever:
      $ref: "#/definitions/base/retriever"
      requester:
        $ref: "#/definitions/requester"
        request_parameters:
          limit: "33"
          offset: "{{ next_page_token['next_page_token'] }}"
      paginator:
        type: DefaultPaginator
        pagination_strategy: {type: OffsetIncrement, page_size: 33}
  - $ref: "#/definitions/base"
    name: page_increment
    $parameters: {path: /pages-total, records_field: results}
    retriever:
      $ref: "#/definitions/base/retriever"
      paginator:
        type: DefaultPaginator
        page_token_option: {$ref: "#/definitions/query_option", field_name: page}
        page_size_option: {$ref: "#/definitions/query_option", field_name: page_size}
        pagination_strategy: {type: PageIncrement, start_from_page: 1, page_size: 50}
  - $ref: "#/definitions/base"
    name: page_from_zero
    $parameters: {path: /hal}
    retriever:
      $ref: "#/definitions/base/retriever"
      record_selector:
        type: RecordSelector
        extractor: {type: DpathExtractor, field_path: [_embedded, items]}
      paginator:
        type: DefaultPaginator
        page_token_option: {$ref: "#/definitions/query_option", field_name: page}
        page_size_option: {$ref: "#/definitions/query_option", field_name: size}
        pagination_strategy:
          {type: PageIncrement, start_from_page: 0, page_size: 20, inject_on_first_request: true}
  - $ref: "#/definitions/base"
    name: body_cursor
    $parameters: {path: /token, records_field: data}
    retriever:
      $ref: "#/definitions/base/retriever"
      paginator:
        type: DefaultPaginator
        page_token_option: {$ref: "#/definitions/query_option", field_name: pagination_token}
        page_size_option: {$ref: "#/definitions/query_option", field_name: max_results}
        pagination_strategy:
          type: CursorPagination
          cursor_value: '{{ response.get("meta", {}).get("next_token", {}) }}'
          stop_condition: '{{ not response.get("meta", {}).get("next_token", {}) }}'
          page_size: 40
  - $ref: "#/definitions/base"
    name: body_cursor_template
    $parameters: {path: /token, records_field: data}
    retriever:
      $ref: "#/definitions/base/retriever"
      paginator:
        type: DefaultPaginator
        page_token_option: {$ref: "#/definitions/query_option", field_name: pagination_token}
        pagination_strategy:
          type: CursorPagination
          cursor_value: "{{ response.meta.next_token if response.meta.result_count > 0 else {} }}"
          stop_condition: "{{ response.meta.result_count == 0 }}"
  - $ref: "#/definitions/base"
    name: link_header
    $parameters: {path: /link}
    retriever:
      $ref: "#/definitions/base/retriever"
      record_selector:
        type: RecordSelector
        extractor: {type: DpathExtractor, field_path: []}
      paginator:
        type: DefaultPaginator
        page_token_option: {type: RequestPath}
        page_size_option: {$ref: "#/definitions/query_option", field_name: per_page}
        pagination_strategy:
          type: CursorPagination
          cursor_value: "{{ headers['link']['next']['url'] }}"
          stop_condition: "{{ 'next' not in headers['link'] }}"
          page_size: 30
  - $ref: "#/definitions/base"
    name: next_url_in_body
    $parameters: {path: /next-url, records_field: results}
    retriever:
      $ref: "#/definitions/base/retriever"
      paginator:
        type: DefaultPaginator
        page_token_option: {type: RequestPath}
        page_size_option: {$ref: "#/definitions/query_option", field_name: limit}
        pagination_strategy:
          type: CursorPagination
          cursor_value: "{{ response.next }}"
          stop_condition: "{{ response.next is none }}"
          page_size: 70
  - $ref: "#/definitions/base"
    name: odata_next_link
    $parameters: {path: /odata, records_field: value}
    retriever:
      $ref: "#/definitions/base/retriever"
      paginator:
        type: DefaultPaginator
        page_token_option: {type: RequestPath}
        pagination_strategy:
          type: CursorPagination
          cursor_value: "{{ response['@odata.nextLink'] }}"
  - $ref: "#/definitions/base"
    name: header_cursor
    $parameters: {path: /header-cursor}
    retriever:
      $ref: "#/definitions/base/retriever"
      record_selector:
        type: RecordSelector
        extractor: {type: DpathExtractor, field_path: []}
      paginator:
        type: DefaultPaginator
        page_token_option: {$ref: "#/definitions/query_option", field_name: cursor}
        pagination_strategy:
          type: CursorPagination
          cursor_value: "{{ headers['X-Next-Cursor'] }}"
  - $ref: "#/definitions/base"
    name: last_record_cursor
    $parameters: {path: /starting-after, records_field: data}
    retriever:
      $ref: "#/definitions/base/retriever"
      paginator:
        type: DefaultPaginator
        page_token_option: {$ref: "#/definitions/query_option", field_name: starting_after}
        page_size_option: {$ref: "#/definitions/query_option", field_name: limit}
        pagination_strategy:
          type: CursorPagination
          cursor_value: "{{ last_record['id'] }}"
          stop_condition: "{{ not response.has_more }}"
          page_size: 100
"""

EXPECTED_PAGINATION = {
    "offset_increment": {
        "mode": "offset",
        "offset_param": {"in": "query", "name": "offset"},
        "limit_param": {"in": "query", "name": "limit"},
        "page_size": 45,
    },
    "offset_from_requester_template": {
        "mode": "offset",
        "offset_param": {"in": "query", "name": "offset"},
        "limit_param": False,
        "page_size": 33,
    },
    "page_increment": {
        "mode": "page",
        "page_param": {"in": "query", "name": "page"},
        "size_param": {"in": "query", "name": "page_size"},
        "start_page": 1,
        "page_size": 50,
    },
    "page_from_zero": {
        "mode": "page",
        "page_param": {"in": "query", "name": "page"},
        "size_param": {"in": "query", "name": "size"},
        "start_page": 0,
        "page_size": 20,
    },
    "body_cursor": {
        "mode": "cursor",
        "next": {"body": "meta.next_token"},
        "cursor_param": {"in": "query", "name": "pagination_token"},
        "size_param": {"in": "query", "name": "max_results"},
        "page_size": 40,
    },
    "link_header": {
        "mode": "cursor",
        "next": {"link": "next"},
        "cursor_param": {"in": "url"},
        "size_param": {"in": "query", "name": "per_page"},
        "page_size": 30,
    },
    "next_url_in_body": {
        "mode": "cursor",
        "next": {"body": "next"},
        "cursor_param": {"in": "url"},
        "size_param": {"in": "query", "name": "limit"},
        "page_size": 70,
    },
    "odata_next_link": {
        "mode": "cursor",
        "next": {"body": '"@odata.nextLink"'},
        "cursor_param": {"in": "url"},
    },
    "header_cursor": {
        "mode": "cursor",
        "next": {"header": "X-Next-Cursor"},
        "cursor_param": {"in": "query", "name": "cursor"},
    },
    "last_record_cursor": {
        "mode": "cursor",
        "next": {"last_record": "id"},
        "cursor_param": {"in": "query", "name": "starting_after"},
        "size_param": {"in": "query", "name": "limit"},
        "stop_condition": "{{ not response.has_more }}",
        "page_size": 100,
    },
}
"""The structured fields each shape must become (no Airbyte Jinja where a field exists)."""


@pytest.fixture
def keyed_api(sample_api: Any) -> Any:
    """A sample API that wants ``Authorization: Bearer API_KEY``. Its class is taken from the
    conftest fixture, so that where the sample API lives is written in one place only."""
    with type(sample_api)(api_key=API_KEY) as api:
        yield api


def imported(url: str, prefix: str = "SHOP") -> tuple[str, Any]:
    result = import_manifest(MANIFEST.replace("URL_BASE", url), prefix=prefix, where="shop.yaml")
    return render_toml(result), result


def test_each_paging_shape_becomes_structured_fields() -> None:
    text, result = imported("https://api.example.com/v1")
    assert result.complete and not result.skipped
    tables = {source.name: source.table for source in result.sources}
    for name, expected in EXPECTED_PAGINATION.items():
        assert tables[name]["pagination"] == expected, name
    template = tables["body_cursor_template"]["pagination"]
    assert template["next"] == {
        "template": (
            "{{ (response.get('meta', {}).get('next_token') if response.get('meta', {}).get('result_count') "
            "> 0 else {}) or '' }}"
        )
    }
    assert template["stop_condition"] == "{{ response.meta.result_count == 0 }}"
    assert tables["offset_increment"]["url"] == "https://api.example.com/v1/offset"
    assert tables["offset_increment"]["records"] == "items"
    assert tables["page_from_zero"]["records"] == "_embedded.items"
    assert tables["offset_increment"]["headers"] == {"Authorization": "Bearer ${SHOP_API_KEY}"}
    assert "${SHOP_API_KEY} is Airbyte's config['api_key']" in text
    assert tables["offset_from_requester_template"]["query"] == {"limit": "33"}


@pytest.mark.anyio
async def test_imported_sources_drain_the_sample_api_exactly(keyed_api: Any, tmp_path: Path) -> None:
    text, result = imported(keyed_api.url)
    path = tmp_path / "shop.toml"
    path.write_text(text)
    environ = {"SHOP_API_KEY": API_KEY}
    config = load_config(path, environ=environ)
    assert set(config.sources) >= set(EXPECTED_PAGINATION)
    server = create_server(config, "memory://", environ=environ)
    with anyio.fail_after(60):
        async with Client(server) as client:
            for source in result.sources:
                data = structured(
                    await client.call_tool("fetch_all", {"source": source.name, "fields": ["id"]})
                )
                assert data["complete"] is True and data["stop_reason"] == "exhausted", source.name
                assert [record["id"] for record in data["records"]] == ALL_IDS, source.name


def test_sources_check_accepts_the_imported_file(
    keyed_api: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "source-shop" / "manifest.yaml"
    manifest.parent.mkdir()
    manifest.write_text(MANIFEST.replace("URL_BASE", keyed_api.url))
    out = tmp_path / "shop.toml"
    with pytest.raises(SystemExit) as imported_exit:
        main(["import", "airbyte", str(manifest), "--out", str(out)])
    assert imported_exit.value.code == 0
    assert "11 of 11 stream(s) imported" in capsys.readouterr().err
    monkeypatch.setenv("SHOP_API_KEY", API_KEY)  # the prefix comes from the folder source-shop
    with pytest.raises(SystemExit) as checked:
        main(["sources", "--config", str(out), "--check"])
    output = capsys.readouterr().out
    assert checked.value.code == 0, output
    assert "11 ok, 0 failed, 0 skipped" in output


def test_the_readme_example_imports_completely(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["import", "airbyte", str(ROOT / "examples" / "airbyte" / "sample_api.yaml")])
    captured = capsys.readouterr()
    assert exited.value.code == 0, captured.err
    assert "[sources.items]" in captured.out and 'next = { link = "next" }' in captured.out


UNTRANSLATABLE = """
version: 6.44.0
type: DeclarativeSource
definitions:
  requester:
    type: HttpRequester
    url_base: "https://{{ config['subdomain'] }}.example.com/api"
    authenticator:
      type: OAuthAuthenticator
      client_id: "{{ config['client_id'] }}"
      refresh_token: "{{ config['refresh_token'] }}"
      token_refresh_endpoint: https://example.com/oauth/token
streams:
  - type: DeclarativeStream
    name: custom_paged
    retriever:
      type: SimpleRetriever
      requester: {$ref: "#/definitions/requester", path: /deals}
      record_selector: {type: RecordSelector, extractor: {type: DpathExtractor, field_path: [results]}}
      paginator:
        type: DefaultPaginator
        pagination_strategy: {type: CustomPaginationStrategy, class_name: source_x.components.Deals}
  - type: DeclarativeStream
    name: custom_retriever
    retriever: {type: CustomRetriever, class_name: source_x.components.R}
  - type: DeclarativeStream
    name: updated_contacts
    incremental_sync:
      type: DatetimeBasedCursor
      cursor_field: updated_at
      start_time_option: {type: RequestOption, inject_into: request_parameter, field_name: updated_since}
    retriever:
      type: SimpleRetriever
      requester:
        $ref: "#/definitions/requester"
        path: "/contacts/{{ stream_partition['list_id'] }}"
        request_parameters:
          region: "{{ config['region'] }}"
          order: "{{ 'asc' if config['oldest_first'] else 'desc' }}"
      record_selector: {type: RecordSelector, extractor: {type: DpathExtractor, field_path: [data, "*"]}}
      paginator:
        type: DefaultPaginator
        page_token_option: {type: RequestOption, inject_into: body_data, field_name: page}
        pagination_strategy: {type: PageIncrement, page_size: 10}
  - type: DeclarativeStream
    name: contacts
    incremental_sync:
      type: DatetimeBasedCursor
      cursor_field: updated_at
      start_time_option: {type: RequestOption, inject_into: request_parameter, field_name: updated_since}
    retriever:
      type: SimpleRetriever
      requester:
        $ref: "#/definitions/requester"
        path: "/lists/{{ stream_partition['list_id'] }}/contacts"
        request_parameters:
          region: "{{ config['region'] }}"
          order: "{{ 'asc' if config['oldest_first'] else 'desc' }}"
      record_selector: {type: RecordSelector, extractor: {type: DpathExtractor, field_path: [data, "*"]}}
      partition_router:
        type: SubstreamPartitionRouter
        parent_stream_configs: []
      paginator:
        type: DefaultPaginator
        page_token_option: {type: RequestOption, inject_into: request_parameter, field_name: page}
        pagination_strategy: {type: PageIncrement, page_size: 10, start_from_page: 1}
"""


def test_nothing_is_dropped_silently(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = tmp_path / "crm.yaml"
    manifest.write_text(UNTRANSLATABLE)
    out = tmp_path / "crm.toml"
    with pytest.raises(SystemExit) as exited:
        main(["import", "airbyte", str(manifest), "--out", str(out)])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    text = out.read_text()
    for reason in (
        "stream 'custom_paged': CustomPaginationStrategy source_x.components.Deals (Python code)",
        "stream 'custom_retriever': retriever CustomRetriever (Python code)",
        "stream 'updated_contacts': page_token_option inject_into body_data (form-encoded body)",
    ):
        assert f"not imported: {reason}" in err
        assert f"# NOT IMPORTED: {reason}" in text
    assert "OAuth token refresh is not translated; put a current access token in $CRM_ACCESS_TOKEN" in err
    assert "1 of 4 stream(s) imported (1 with fields not translated), 3 not imported" in err
    contacts = load_config(out, environ={}).sources["contacts"]
    assert contacts.url == "https://{subdomain}.example.com/api/lists/{list_id}/contacts"
    assert contacts.query == {"region": "{region}", "order": "{order}", "updated_since": "{start_time}"}
    assert contacts.params["list_id"].required and contacts.params["subdomain"].required
    assert not contacts.params["order"].required and not contacts.params["start_time"].required
    assert contacts.headers == {"Authorization": "Bearer ${CRM_ACCESS_TOKEN}"}
    assert contacts.records == "(data.* || data[])"
    for said in (
        "param 'subdomain' is Airbyte's config['subdomain']",
        "param 'list_id' is the partition value stream_partition['list_id']",
        "NOT TRANSLATED: incremental sync (DatetimeBasedCursor)",
        "param 'order' (optional) stands for the Airbyte template",
    ):
        assert said in text


def test_references_and_parameters_resolve_as_airbyte_does() -> None:
    manifest = load_manifest(
        textwrap.dedent(
            """
            definitions:
              base: {a: 1, nested: {b: 2}}
              "odd/key": 5
              requester: {type: HttpRequester, url_base: "https://x", path: "/{{ parameters.resource }}"}
            streams:
              - type: DeclarativeStream
                name: s
                $parameters: {resource: from_stream, field_path: [rows]}
                retriever:
                  requester: "#/definitions/requester"
                  record_selector: {extractor: {type: DpathExtractor}}
                merged: {$ref: "#/definitions/base", a: 3}
                deep: "#/definitions/base/nested/b"
                odd: "#/definitions/odd/key"
              - type: DeclarativeStream
                name: t
                $parameters: {resource: outer}
                retriever:
                  requester: {$ref: "#/definitions/requester", $parameters: {resource: inner}}
            """
        )
    )
    first, second = (stream.component for stream in manifest_streams(manifest))
    assert first["merged"] == {"a": 3, "nested": {"b": 2}}
    assert first["deep"] == 2 and first["odd"] == 5
    assert first["retriever"]["type"] == "SimpleRetriever"
    assert first["retriever"]["requester"]["path"] == "/from_stream"
    assert first["retriever"]["record_selector"]["extractor"]["field_path"] == ["rows"]
    assert second["retriever"]["requester"]["path"] == "/inner"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("streams: [a: [", "is not valid YAML (line 1)"),
        ("- 1", "is not an Airbyte manifest"),
        ("version: 1", "has no 'streams' list"),
        ("streams: ['#/x']\nx: '#/y'\ny: '#/x'", "references go in a circle"),
        ("streams: ['#/nowhere']", "reference '#/nowhere' points to nothing"),
    ],
)
def test_bad_manifests_get_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(InputError, match="^.*$") as caught:
        import_manifest(text, prefix="X")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_cli_errors_are_one_line_with_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as missing:
        main(["import", "airbyte", str(tmp_path / "none.yaml")])
    assert missing.value.code == 2
    assert (
        capsys.readouterr().err.strip()
        == f"mcp-paginate: error: manifest {tmp_path / 'none.yaml'} does not exist"
    )
    manifest = tmp_path / "m.yaml"
    manifest.write_text(MANIFEST.replace("URL_BASE", "https://x"))
    with pytest.raises(SystemExit) as unknown:
        main(["import", "airbyte", str(manifest), "--stream", "nope"])
    assert unknown.value.code == 2
    assert "has no stream 'nope'; its streams: body_cursor" in capsys.readouterr().err


def test_stream_option_imports_only_the_named_streams(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    manifest = tmp_path / "m.yaml"
    manifest.write_text(MANIFEST.replace("URL_BASE", "https://x"))
    with pytest.raises(SystemExit) as exited:
        main(["import", "airbyte", str(manifest), "--stream", "link_header", "--stream", "page_increment"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "[sources.link_header]" in out and "[sources.page_increment]" in out
    assert sorted(
        line for line in out.splitlines() if line.startswith("[sources.") and "." not in line[9:]
    ) == [
        "[sources.link_header]",
        "[sources.page_increment]",
    ]


def test_coverage_tool_on_a_small_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("airbyte_coverage", ROOT / "tools" / "airbyte_coverage.py")
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    fixture = ROOT / "tests" / "fixtures" / "airbyte_corpus"
    assert tool.main([str(fixture)]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert lines["CursorPagination"] == ["2", "1", "50.0%"]
    assert lines["OffsetIncrement"] == ["1", "1", "100.0%"]
    assert lines["PageIncrement"] == ["1", "1", "100.0%"]
    assert "1  not imported: cursor_value uses Airbyte filter regex_search" in out
    assert "marked not expressible: 1 (0 imported anyway)" in out
    rows = [json.loads(line) for line in (fixture / "airbyte_paginators.jsonl").read_text().splitlines()]
    assert len(rows) == 5
