"""Templates that cannot go silently empty, headers that carry JSON, and the memory bounds of
a render, from the template up to a real HTTP server drained through the MCP client."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from mcp import Client
from pydantic import BaseModel, ValidationError

from mcp_paginate.config import AppConfig, load_config
from mcp_paginate.errors import ConfigError, ResponseShapeError
from mcp_paginate.expressions import (
    PAGE_VARIABLES,
    HeaderMap,
    check_template,
    render_condition,
    render_cursor,
    render_value,
)
from mcp_paginate.paginators import CursorPagination, OffsetPagination, PagePagination, PageView, State
from mcp_paginate.server import create_server
from tests.conftest import structured
from tests.support import text_of

# --------------------------------------------------------------------------------------------
# Unknown variables: refused when read, with the equivalent named
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ last_record['id'] }}", "last_records[-1]"),
        ("{{ last_record.id }}", 'next = {last_record = "id"}'),
        ("{{ config['page_size'] }}", "${ENV_VAR}"),
        ("{{ next_page_token['next_page_token'] }}", "'value' in a request option's template"),
        ("{{ stream_slice.start_time }}", "stream_slice (partitions, incremental state)"),
        ("{{ stream_state.updated_at }}", "stream_state"),
        ("{{ stream_interval.start_time }}", "stream_interval"),
        ("{{ stream_partition.id }}", "stream_partition"),
        ("{{ parameters.name }}", "$parameters"),
        ("{{ respones.next }}", "did you mean 'response'?"),
        ("{{ headers['link']['next']['url'] }}", 'next = {link = "next"}'),
        ("{{ headers.get('link', {}).get('next', {}).get('url') }}", 'next = {link = "next"}'),
        ("{{ 'next' not in headers['Link'] }}", 'next = {link = "next"}'),
        ("{{ headers.link.next }}", 'next = {link = "next"}'),
        ("{{ headers['X-Pagination']['next_page'] }}", "fromjson"),
        ("{{ headers['X-Pagination'].total }}", '{header = "X-Pagination", path = "total"}'),
    ],
)
def test_a_name_the_render_never_gives_is_refused_with_its_equivalent(template: str, expected: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_template(template, PAGE_VARIABLES)
    assert expected in str(caught.value) and repr(template)[1:-1][:30] in str(caught.value)


@pytest.mark.parametrize(
    "template",
    [
        "{{ response.get('next', {}) }}",
        "{{ last_records[-1]['id'] }}",
        "{{ headers['X-Next'] }}",
        "{{ headers.get('X-Next', '').split(',')[0] }}",
        "{{ (headers['X-Pagination'] | fromjson).next_page }}",
        "{% set n = response.next %}{{ n }}",
        "{% for r in last_records %}{{ r.id if loop.last }}{% endfor %}",
        "{{ range(3) | list | length }}",
    ],
)
def test_what_a_page_template_is_given_is_accepted(template: str) -> None:
    check_template(template, PAGE_VARIABLES)


def test_every_template_slot_refuses_an_unknown_name_at_validation() -> None:
    bad = "{{ last_record.id }}"
    slots: list[dict[str, Any]] = [
        {"mode": "offset", "stop_condition": bad},
        {"mode": "offset", "stop_condition": "last_record.id == 3"},  # the bare-expression form
        {"mode": "cursor", "next": {"template": bad}},
        {"mode": "offset", "offset_param": {"in": "query", "name": "offset", "template": "{{ response.x }}"}},
        # A name another mode gives: page mode has no cursor, offset mode no page.
        {"mode": "page", "page_param": {"in": "query", "name": "p", "template": "{{ cursor }}"}},
        {"mode": "offset", "offset_param": {"in": "query", "name": "o", "template": "{{ page }}"}},
    ]
    models: dict[str, type[BaseModel]] = {
        "offset": OffsetPagination,
        "page": PagePagination,
        "cursor": CursorPagination,
    }
    for spec in slots:
        with pytest.raises(ValidationError, match="unknown variable"):
            models[spec["mode"]].model_validate(spec)


def test_a_config_file_with_an_airbyte_template_is_refused_when_it_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[sources.s]\nurl = "http://127.0.0.1:9/x"\n\n[sources.s.pagination]\nmode = "cursor"\n'
        "next = { template = \"{{ headers['link']['next']['url'] }}\" }\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "sources.s" in str(caught.value).replace("'", "") or "s.pagination" in str(caught.value)
    assert 'next = {link = "next"}' in str(caught.value)


@pytest.mark.anyio
async def test_a_tool_argument_with_an_airbyte_template_is_a_tool_error_naming_the_equivalent(
    client: Client,
) -> None:
    spec = {"mode": "cursor", "next": {"template": "{{ last_record['id'] }}"}}
    result = await client.call_tool("list_page", {"source": "body_token", "pagination": spec})
    assert result.is_error
    text = text_of(result)
    assert "last_record" in text and "last_records[-1]" in text and "Traceback" not in text


# --------------------------------------------------------------------------------------------
# Missing keys at render time
# --------------------------------------------------------------------------------------------

PAGE = {
    "response": {"data": [{"id": 1}], "meta": {"next": "c2", "gone": None}, "links": None},
    "headers": HeaderMap({"x-next": "h2"}),
    "last_records": [{"id": 1}],
    "last_page_size": 1,
    "page_number": 1,
    "records_so_far": 0,
}


@pytest.mark.parametrize(
    ("template", "key"),
    [
        ("{{ response.nxt }}", "nxt"),
        ("{{ response['meta']['next_cursor'] }}", "next_cursor"),
        ("{{ not response.meta.more }}", "more"),
        ("{{ response.meta.nope == 3 }}", "nope"),
        ("{{ last_records[0].key }}", "key"),
        ("{{ response.a.b.c }}", "a"),
    ],
)
def test_a_key_that_does_not_exist_is_an_error_naming_the_template_and_the_key(
    template: str, key: str
) -> None:
    for render in (render_cursor, render_condition):
        with pytest.raises(ValueError) as caught:
            render(template, PAGE)
        message = str(caught.value)
        assert f"no key {key!r}" in message and "there are:" in message and template[:12] in message


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ response.nxt is defined }}", "false"),
        ("{{ response.a.b.c is defined }}", "false"),
        ("{{ response.nxt | default('d') }}", "d"),
        ("{{ response.get('nxt', 'g') }}", "g"),
        ("{{ response.links.next }}", ""),  # a field of a JSON null is null
        ("{{ response.meta.gone }}", ""),
        ("{{ headers['X-Absent'] }}", ""),  # headers are optional by nature
        ("{{ headers['x-next'] }}", "h2"),
        ("{{ last_records[5]['id'] }}", ""),  # past the end of the list: no value
    ],
)
def test_optional_reads_still_work(template: str, expected: str) -> None:
    assert (render_cursor(template, PAGE) or "") == ("" if expected == "false" else expected)


def test_a_value_template_over_a_missing_key_is_an_error() -> None:
    with pytest.raises(ValueError, match="no key 'x'"):
        render_value("{{ value.x }}", {"value": {"y": 1}})


# --------------------------------------------------------------------------------------------
# Headers that carry JSON
# --------------------------------------------------------------------------------------------


def smorest_view(page: int, total: int = 237, size: int = 10) -> PageView:
    pages = -(-total // size)
    header = {"total": total, "total_pages": pages, "first_page": 1, "last_page": pages, "page": page}
    if page < pages:
        header["next_page"] = page + 1
    records = [{"id": i} for i in range((page - 1) * size + 1, min(page * size, total) + 1)]
    return PageView(
        body=records,
        headers={"x-pagination": json.dumps(header)},
        records=records,
        url="http://127.0.0.1/pets",
        page_number=page,
        records_so_far=(page - 1) * size,
        source="unit",
    )


def test_total_and_total_pages_from_a_json_header() -> None:
    pagination = PagePagination.model_validate(
        {
            "total": {"header": "X-Pagination", "path": "total"},
            "total_pages": {"header": "x-pagination", "path": "total_pages"},
        }
    )
    step = pagination.next_state(smorest_view(1), State(page=1, offset=0, page_size=10))
    assert step.total == 237 and step.next is not None and step.next.page == 2
    last = pagination.next_state(smorest_view(24), State(page=24, offset=230, page_size=10))
    assert last.next is None and "24 pages" in (last.reason or "")


def test_has_more_and_next_from_a_json_header() -> None:
    pagination = CursorPagination.model_validate(
        {
            "next": {"header": "X-Pagination", "path": "next_page"},
            "cursor_param": {"in": "query", "name": "page"},
            "has_more": {"header": "X-Pagination", "path": "next_page"},
        }
    )
    step = pagination.next_state(smorest_view(1), State(offset=0))
    assert step.next is not None and step.next.cursor == 2  # a number stays a number
    assert pagination.next_state(smorest_view(24), State(offset=230)).next is None


def test_a_plain_header_total_and_a_body_path_still_work() -> None:
    pagination = OffsetPagination.model_validate(
        {"total": {"header": "X-Total-Count"}, "next_offset": "next"}
    )
    view = PageView(
        body={"data": [{"id": 1}], "next": 1},
        headers={"x-total-count": "2"},
        records=[{"id": 1}],
        url="http://127.0.0.1/",
        page_number=1,
        records_so_far=0,
    )
    step = pagination.next_state(view, State(offset=0, page_size=1))
    assert step.total == 2 and step.next is not None and step.next.offset == 1


def test_a_header_path_into_a_header_that_is_not_json_is_a_response_shape_error() -> None:
    pagination = PagePagination.model_validate({"total": {"header": "X-Pagination", "path": "total"}})
    view = smorest_view(1)
    view.headers["x-pagination"] = "total=237"
    with pytest.raises(ResponseShapeError, match="header 'X-Pagination' is not JSON"):
        pagination.next_state(view, State(page=1, offset=0, page_size=10))


@pytest.mark.parametrize(
    "spec",
    [
        {"mode": "page", "total": {"path": "total"}},
        {"mode": "page", "total": {"header": "X-P", "path": "a[", "x": 1}},
        {"mode": "page", "total": {"header": "X-P", "path": "a["}},
        {"mode": "cursor", "next": {"body": "next", "path": "x"}},
    ],
)
def test_a_bad_header_signal_is_refused_when_read(spec: dict[str, Any]) -> None:
    model = PagePagination if spec["mode"] == "page" else CursorPagination
    with pytest.raises(ValidationError):
        model.model_validate(spec)


def test_the_json_schema_of_a_signal_is_plain() -> None:
    schema = json.dumps(OffsetPagination.model_json_schema()["properties"]["total"])
    assert "anyOf" not in schema and "$ref" not in schema
    assert json.loads(schema)["type"] == ["string", "object", "null"]


class _Smorest(BaseHTTPRequestHandler):
    """flask-smorest's answer: a bare JSON list and an X-Pagination header (237 pets, 10 a page)."""

    def do_GET(self) -> None:
        page = int(parse_qs(urlsplit(self.path).query).get("page", ["1"])[0])
        view = smorest_view(page)
        body = json.dumps(view.records).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Pagination", view.headers["x-pagination"])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def smorest() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Smorest)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.anyio
@pytest.mark.parametrize(
    "pagination",
    [
        {
            "mode": "page",
            "size_param": None,
            "total": {"header": "X-Pagination", "path": "total"},
            "total_pages": {"header": "X-Pagination", "path": "total_pages"},
        },
        {
            "mode": "cursor",
            "next": {"header": "X-Pagination", "path": "next_page"},
            "cursor_param": {"in": "query", "name": "page"},
        },
        {
            "mode": "page",
            "size_param": None,
            "stop_condition": "{{ (headers['X-Pagination'] | fromjson).next_page is not defined }}",
        },
    ],
    ids=["totals", "next-page", "fromjson"],
)
async def test_a_json_header_api_drains_exactly_through_the_mcp_client(
    smorest: str, pagination: dict[str, Any]
) -> None:
    config = AppConfig.model_validate(
        {"sources": {"pets": {"url": smorest + "/pets", "pagination": pagination}}}
    )
    async with Client(create_server(config, "memory://")) as client:
        drained = structured(await client.call_tool("fetch_all", {"source": "pets"}))
    assert [record["id"] for record in drained["records"]] == list(range(1, 238))
    assert drained["complete"] is True and drained["pages"] == 24


# --------------------------------------------------------------------------------------------
# Memory bounds at the template level (the server-level battery is test_hostile_templates)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'x' * 1000000 }}",  # exactly the limit
        "{{ (range(100000) | list) | length }}",
        "{{ 10 ** 4000 }}",
        "{{ '%05d|%-8s|%.2f' % (7, 'ab', 1.5) }}",
        "{{ '{:>8}|{:08.3f}'.format('a', 2.5) }}",
        "{{ 'a,b'.split(',') | join('-') }}",
        "{{ 'ab'.center(10) ~ 'x'.zfill(4) }}",
    ],
)
def test_ordinary_templates_render_within_the_bounds(template: str) -> None:
    assert render_cursor(template, {}) is not None


def test_a_bound_error_names_the_template_and_the_limit() -> None:
    with pytest.raises(ValueError) as caught:
        render_cursor("{{ 'a'.ljust(400000000) }}", {})
    assert "'a'.ljust(400000000)" in str(caught.value) and "at most 1,000,000" in str(caught.value)


def test_a_long_template_is_refused_and_quoted_short() -> None:
    with pytest.raises(ValueError, match="at most 2,000 are accepted") as caught:
        check_template("{{ response.next }}" + " " * 3000, PAGE_VARIABLES)
    assert len(str(caught.value)) < 400
