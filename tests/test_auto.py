"""Auto-detected pagination: every sample-API style with a discoverable continuation drains
exactly in mode "auto", and responses shaped like well-known APIs are detected as they page."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from mcp_paginate.app import open_app
from mcp_paginate.arguments import FetchAllArguments, PagingArguments
from mcp_paginate.config import AppConfig
from mcp_paginate.paginators import (
    CursorPagination,
    NoPagination,
    OffsetPagination,
    PagePagination,
    PageView,
    PreparedRequest,
    State,
    pagination_adapter,
)
from mcp_paginate.paginators.auto import detect
from mcp_paginate.records import extract_records
from mcp_paginate.sample import DEFAULT_PAGE_SIZE, FaultPlan, SampleAPI
from mcp_paginate.tools import fetch_all, list_page, read_results
from tests.support import ALL_IDS

# -- the sample API, drained in mode "auto" ---------------------------------------------------

ALLOY_HEADERS = {"x-api-version": "2025-09", "x-alloy-userid": "user-1"}
ALLOY_PATH = "/connectors/hubspot/actions/listContacts/execute"


def auto_sources(url: str) -> dict[str, dict[str, Any]]:
    """One auto-mode source per sample style (key: the style, and the detected mode expected)."""
    auto = {"mode": "auto"}
    return {
        "next_url": {"url": url + "/next-url", "query": {"limit": "20"}, "pagination": auto},
        "link": {"url": url + "/link", "query": {"per_page": "25"}, "pagination": auto},
        "link_relative": {
            "url": url + "/link",
            "query": {"per_page": "50", "relative": "1"},
            "pagination": auto,
        },
        "odata": {"url": url + "/odata", "query": {"$top": "30"}, "pagination": auto},
        "hal": {
            "url": url + "/hal",
            "query": {"size": "40"},
            "records": "_embedded.items",
            "pagination": auto,
        },
        "token": {"url": url + "/token", "query": {"max_results": "30"}, "pagination": auto},
        "header_cursor": {"url": url + "/header-cursor", "query": {"limit": "40"}, "pagination": auto},
        "starting_after": {"url": url + "/starting-after", "query": {"limit": "33"}, "pagination": auto},
        "offset": {"url": url + "/offset", "query": {"limit": "40"}, "pagination": auto},
        "offset_bare": {"url": url + "/offset", "pagination": auto},
        "offset_capped": {"url": url + "/offset", "max_page_size": 70, "pagination": auto},
        "pages_total": {"url": url + "/pages-total", "query": {"page_size": "30"}, "pagination": auto},
        "pages_total_bare": {"url": url + "/pages-total", "pagination": auto},
        "pages_silent_cap": {"url": url + "/pages", "query": {"page_size": "50"}, "pagination": auto},
        "alloy": {
            "url": url + ALLOY_PATH,
            "method": "POST",
            "headers": ALLOY_HEADERS,
            "body": {"credentialId": "cred-1", "actionId": "listContacts", "input": {"limit": 20}},
            "pagination": auto,
        },
        "alloy_no_limit": {
            "url": url + ALLOY_PATH,
            "method": "POST",
            "headers": ALLOY_HEADERS,
            "body": {"credentialId": "cred-1", "actionId": "listContacts", "input": {}},
            "pagination": auto,
        },
    }


EXPECTED: dict[str, dict[str, Any]] = {
    "next_url": {"mode": "cursor", "next": {"body": "next"}, "cursor_param": {"in": "url"}},
    "link": {"mode": "cursor", "next": {"link": "next"}, "cursor_param": {"in": "url"}},
    "link_relative": {"mode": "cursor", "next": {"link": "next"}, "cursor_param": {"in": "url"}},
    "odata": {"mode": "cursor", "next": {"body": '"@odata.nextLink"'}, "cursor_param": {"in": "url"}},
    "hal": {"mode": "cursor", "next": {"body": "_links.next.href"}, "cursor_param": {"in": "url"}},
    "token": {
        "mode": "cursor",
        "next": {"body": "meta.next_token"},
        "cursor_param": {"in": "query", "name": "pagination_token"},
        "size_param": {"in": "query", "name": "max_results"},
    },
    "header_cursor": {
        "mode": "cursor",
        "next": {"header": "X-Next-Cursor"},
        "size_param": {"in": "query", "name": "limit"},
    },
    "starting_after": {
        "mode": "cursor",
        "next": {"last_record": "id"},
        "cursor_param": {"in": "query", "name": "starting_after"},
        "has_more": "has_more",
        "size_param": {"in": "query", "name": "limit"},
    },
    "offset": {"mode": "offset", "total": "total"},
    "offset_bare": {"mode": "offset", "total": "total"},
    "offset_capped": {"mode": "offset", "total": "total"},
    "pages_total": {
        "mode": "page",
        "total": "total",
        "total_pages": "total_pages",
        "size_param": {"in": "query", "name": "page_size"},
    },
    "pages_total_bare": {"mode": "page", "total": "total", "total_pages": "total_pages", "size_param": None},
    "pages_silent_cap": {"mode": "page", "size_param": {"in": "query", "name": "page_size"}},
    "alloy": {
        "mode": "offset",
        "offset_param": {"in": "body", "name": "input.offset"},
        "limit_param": {"in": "body", "name": "input.limit"},
        "next_offset": "pagination.nextOffset",
        "has_more": "pagination.hasMore",
    },
    "alloy_no_limit": {
        "mode": "offset",
        "offset_param": {"in": "body", "name": "input.offset"},
        "limit_param": None,
        "next_offset": "pagination.nextOffset",
        "has_more": "pagination.hasMore",
    },
}


def auto_config(url: str, **server: Any) -> AppConfig:
    return AppConfig.model_validate({"server": server, "sources": auto_sources(url)})


def _without_nones(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nones(v) for k, v in value.items() if v is not None}
    return value


async def drained_ids(app: Any, results_uri: str) -> list[int]:
    results_id = results_uri.rsplit("/", 1)[-1]
    stored = json.loads(await read_results(app, results_id))
    return [record["id"] for record in stored["records"]]


@pytest.mark.anyio
@pytest.mark.parametrize("style", sorted(EXPECTED))
async def test_auto_drains_every_discoverable_sample_style_exactly(sample_api: SampleAPI, style: str) -> None:
    async with open_app(auto_config(sample_api.url), "memory://") as app:
        with anyio.fail_after(30):
            result = await fetch_all(app, FetchAllArguments(source=style))
        assert result.error is None
        assert result.complete is True
        assert result.stop_reason == "exhausted"
        assert await drained_ids(app, result.results_uri) == ALL_IDS
        assert result.detected is not None
        # Compare with defaults filled in: `detected` leaves out fields at their defaults.
        detected = pagination_adapter.validate_python(result.detected).model_dump(mode="json")
        for key, value in EXPECTED[style].items():
            if isinstance(value, dict):
                value = {"name": None, "template": None, **value} if "in" in value else value
            assert _without_nones(detected.get(key)) == _without_nones(value), (key, result.detected)


@pytest.mark.anyio
async def test_detected_spec_pins_and_drains_the_same_way(sample_api: SampleAPI) -> None:
    """What auto reports as `detected` is a valid spec that drains the source by itself."""
    async with open_app(auto_config(sample_api.url), "memory://") as app:
        for style in ("alloy", "token", "pages_total", "starting_after", "offset"):
            first = await fetch_all(app, FetchAllArguments(source=style, max_records=5))
            assert first.detected is not None
            again = await fetch_all(app, FetchAllArguments(source=style, pagination=first.detected))
            assert again.detected is None
            assert await drained_ids(app, again.results_uri) == ALL_IDS, style


@pytest.mark.anyio
async def test_auto_reports_detected_on_every_page_and_continues_by_cursor(sample_api: SampleAPI) -> None:
    async with open_app(auto_config(sample_api.url), "memory://") as app:
        first = await list_page(app, PagingArguments(source="token"))
        assert first.detected is not None and first.detected["mode"] == "cursor"
        assert any("auto-detected pagination" in note for note in first.notes)
        ids = [record["id"] for record in first.records]
        cursor = first.next_cursor
        while cursor is not None:
            page = await list_page(app, PagingArguments(cursor=cursor))
            assert page.detected == first.detected
            ids.extend(record["id"] for record in page.records)
            cursor = page.next_cursor
        assert ids == ALL_IDS


@pytest.mark.anyio
async def test_ad_hoc_request_defaults_to_auto_and_drains(sample_api: SampleAPI) -> None:
    host = sample_api.url.split("://", 1)[1]
    config = AppConfig.model_validate({"server": {"allowed_hosts": [host]}})
    async with open_app(config, "memory://") as app:
        result = await fetch_all(app, FetchAllArguments(request={"url": sample_api.url + "/odata?$top=45"}))
        assert result.detected is not None and result.detected["mode"] == "cursor"
        assert await drained_ids(app, result.results_uri) == ALL_IDS


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["/next-url", "/odata", "/link", "/hal"])
async def test_auto_never_follows_a_next_link_to_another_origin(fresh_api: SampleAPI, path: str) -> None:
    # Another loopback port is another origin; the session's policy does not list it. The link is
    # recognised (detected says how the API pages), refused, and the drain says it is incomplete.
    with SampleAPI() as other:
        fresh_api.faults = FaultPlan(evil_next_url=other.url)
        source = {"url": fresh_api.url + path, "pagination": {"mode": "auto"}}
        config = AppConfig.model_validate({"sources": {"s": source}})
        async with open_app(config, "memory://") as app:
            result = await fetch_all(app, FetchAllArguments(source="s"))
        assert other.stats.requests == 0
        assert result.detected is not None and result.detected["mode"] == "cursor"
        assert not result.complete and result.stop_reason == "error"
        assert result.error is not None and "allowed_hosts" in result.error
        assert other.url.removeprefix("http://") in result.error
        assert result.count == 10 and result.next_cursor is not None  # page 1 kept; resumable


def test_a_next_link_is_chosen_wherever_it_points() -> None:
    body = {"results": [{"id": 1}], "next": "https://api2.example.com/items?page=2"}
    page = view(body, url="https://api.example.com/items")
    found = detect(page, get("https://api.example.com/items"), None)
    assert isinstance(found, CursorPagination) and found.next.body == "next"
    assert found.cursor_param is not None and found.cursor_param.in_ == "url"
    # Not an http(s) link: never followed as a URL (at most sent back as an opaque token).
    script = {"results": [{"id": 1}], "next": "javascript:alert(1)"}
    chosen = detect(view(script), get("https://api.example.com/items"), None)
    assert not (isinstance(chosen, CursorPagination) and chosen.cursor_param.in_ == "url")


@pytest.mark.anyio
async def test_auto_finds_hal_records_without_a_records_path(sample_api: SampleAPI) -> None:
    config = AppConfig.model_validate(
        {"sources": {"hal": {"url": sample_api.url + "/hal", "pagination": {"mode": "auto"}}}}
    )
    async with open_app(config, "memory://") as app:
        result = await fetch_all(app, FetchAllArguments(source="hal"))
        assert await drained_ids(app, result.results_uri) == ALL_IDS


@pytest.mark.anyio
async def test_auto_continues_from_an_offset_the_first_request_carried(sample_api: SampleAPI) -> None:
    config = AppConfig.model_validate(
        {
            "sources": {
                "s": {
                    "url": sample_api.url + "/offset",
                    "query": {"offset": "200"},
                    "pagination": {"mode": "auto"},
                }
            }
        }
    )
    async with open_app(config, "memory://") as app:
        result = await fetch_all(app, FetchAllArguments(source="s"))
        assert await drained_ids(app, result.results_uri) == list(range(201, 238))


@pytest.mark.anyio
async def test_rereading_the_first_page_of_an_auto_detected_page_session(sample_api: SampleAPI) -> None:
    async with open_app(auto_config(sample_api.url), "memory://") as app:
        first = await list_page(app, PagingArguments(source="pages_total"))
        assert first.detected is not None and first.detected["mode"] == "page"
        again = await list_page(app, PagingArguments(cursor=first.cursor))
        assert again.records == first.records


# -- canned responses shaped like well-known APIs ----------------------------------------------


def get(url: str, **query: str) -> PreparedRequest:
    return PreparedRequest(method="GET", url=url, query=dict(query))


def view(
    body: Any,
    *,
    url: str = "https://api.example.com/items",
    headers: dict[str, str] | None = None,
    links: dict[str, str] | None = None,
    records: str | None = None,
) -> PageView:
    return PageView(
        body=body,
        headers={k.lower(): v for k, v in (headers or {}).items()},
        records=extract_records(body, records),
        url=url,
        page_number=0,
        records_so_far=0,
        links=links or {},
    )


def follow(
    spec: Any, page: PageView, request: PreparedRequest, page_size: int | None = None
) -> PreparedRequest:
    """The request for the page after this one, as the engine would build it."""
    step = spec.next_state(page, State(offset=0, page_size=page_size))
    assert step.next is not None, step.reason
    following = request.copy()
    spec.apply(following, step.next)
    return following


def dump(spec: Any) -> dict[str, Any]:
    data: dict[str, Any] = spec.model_dump(mode="json", exclude_defaults=True)
    data["mode"] = spec.mode
    return data


RECORDS = [{"id": i, "name": f"n{i}"} for i in range(1, 11)]


def test_django_rest_framework_limit_offset() -> None:
    base = "https://api.example.com/api/users/"
    body = {"count": 95, "next": base + "?limit=10&offset=10", "previous": None, "results": RECORDS}
    request = get(base, limit="10")
    spec = detect(view(body, url=base + "?limit=10"), request, None)
    assert dump(spec) == {"mode": "cursor", "next": {"body": "next"}, "cursor_param": {"in": "url"}}
    assert follow(spec, view(body, url=base), request).url == base + "?limit=10&offset=10"


def test_django_rest_framework_last_page_is_a_single_page() -> None:
    body = {"count": 3, "next": None, "previous": None, "results": RECORDS[:3]}
    assert isinstance(detect(view(body), get("https://api.example.com/items"), None), NoPagination)


def test_django_rest_framework_page_number_relative_next() -> None:
    body = {"count": 95, "next": "/api/users/?page=2", "previous": None, "results": RECORDS}
    page = view(body, url="https://api.example.com/api/users/")
    spec = detect(page, get("https://api.example.com/api/users/"), None)
    assert isinstance(spec, CursorPagination) and spec.next.body == "next"
    assert follow(spec, page, get(page.url)).url == "https://api.example.com/api/users/?page=2"


def test_json_server_0_link_header() -> None:
    url = "http://localhost:3000/posts?_page=1&_limit=10"
    links = {"first": url, "next": "http://localhost:3000/posts?_page=2&_limit=10"}
    spec = detect(view(RECORDS, url=url, links=links, headers={"X-Total-Count": "95"}), get(url), None)
    assert dump(spec) == {"mode": "cursor", "next": {"link": "next"}, "cursor_param": {"in": "url"}}


def test_json_server_1_next_page_number() -> None:
    body = {"first": 1, "prev": None, "next": 2, "last": 10, "pages": 10, "items": 95, "data": RECORDS}
    request = get("http://localhost:3000/posts", _page="1", _per_page="10")
    page = view(body, url="http://localhost:3000/posts?_page=1&_per_page=10")
    spec = detect(page, request, None)
    assert isinstance(spec, CursorPagination)
    assert spec.next.body == "next"
    assert spec.cursor_param.model_dump() == {"in": "query", "name": "_page", "template": None}
    assert follow(spec, page, request).query == {"_page": "2", "_per_page": "10"}
    last = view({**body, "next": None, "prev": 9}, url=page.url)
    assert spec.next_state(last, State(offset=0)).next is None


def test_github_link_header_with_search_totals() -> None:
    url = "https://api.github.com/search/issues?q=repo:a/b&per_page=30"
    body = {"total_count": 1000, "incomplete_results": False, "items": RECORDS}
    links = {"next": "https://api.github.com/search/issues?q=repo:a/b&per_page=30&page=2"}
    spec = detect(view(body, url=url, links=links), get(url), None)
    assert isinstance(spec, CursorPagination) and spec.next.link == "next"


def test_github_list_without_link_is_a_single_page() -> None:
    url = "https://api.github.com/repos/a/b/issues"
    assert isinstance(detect(view(RECORDS, url=url), get(url), None), NoPagination)


def test_stripe_starting_after() -> None:
    body = {
        "object": "list",
        "url": "/v1/customers",
        "has_more": True,
        "data": [{"id": "cus_1"}, {"id": "cus_2"}],
    }
    request = get("https://api.stripe.com/v1/customers", limit="2")
    page = view(body, url="https://api.stripe.com/v1/customers?limit=2")
    spec = detect(page, request, None)
    assert dump(spec) == {
        "mode": "cursor",
        "next": {"last_record": "id"},
        "cursor_param": {"in": "query", "name": "starting_after"},
        "has_more": "has_more",
        "size_param": {"in": "query", "name": "limit"},
    }
    assert follow(spec, page, request).query == {"limit": "2", "starting_after": "cus_2"}
    assert spec.next_state(view({**body, "has_more": False}), State()).next is None


def test_microsoft_graph_odata_next_link() -> None:
    url = "https://graph.microsoft.com/v1.0/users?$top=5"
    body = {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
        "value": RECORDS[:5],
        "@odata.nextLink": "https://graph.microsoft.com/v1.0/users?$top=5&$skiptoken=X%27abc%27",
    }
    page = view(body, url=url)
    spec = detect(page, get(url), None)
    assert isinstance(spec, CursorPagination) and spec.next.body == '"@odata.nextLink"'
    assert follow(spec, page, get(url)).url == body["@odata.nextLink"]


def test_hal_spring_data_rest() -> None:
    url = "https://api.example.com/people?page=0&size=20"
    body = {
        "_embedded": {"people": RECORDS},
        "_links": {
            "self": {"href": url},
            "next": {"href": "https://api.example.com/people?page=1&size=20"},
            "last": {"href": "https://api.example.com/people?page=4&size=20"},
        },
        "page": {"size": 20, "totalElements": 95, "totalPages": 5, "number": 0},
    }
    spec = detect(view(body, url=url, records="_embedded.people"), get(url), None)
    assert isinstance(spec, CursorPagination) and spec.next.body == "_links.next.href"


def test_json_api_links_next() -> None:
    body = {
        "data": RECORDS,
        "links": {"self": "/articles?page[number]=1", "next": "/articles?page[number]=2"},
    }
    spec = detect(view(body), get("https://api.example.com/articles"), None)
    assert isinstance(spec, CursorPagination) and spec.next.body == "links.next"


def test_laravel_next_page_url() -> None:
    body = {
        "current_page": 1,
        "data": RECORDS,
        "next_page_url": "https://api.example.com/items?page=2",
        "total": 50,
    }
    spec = detect(view(body), get("https://api.example.com/items"), None)
    assert isinstance(spec, CursorPagination) and spec.next.body == "next_page_url"


def test_facebook_graph_paging_next() -> None:
    body = {
        "data": RECORDS,
        "paging": {
            "cursors": {"before": "QVFI", "after": "QVFIUmx"},
            "next": "https://graph.facebook.com/v19.0/me/feed?after=QVFIUmx",
        },
    }
    spec = detect(
        view(body, url="https://graph.facebook.com/v19.0/me/feed"),
        get("https://graph.facebook.com/v19.0/me/feed"),
        None,
    )
    assert isinstance(spec, CursorPagination) and spec.next.body == "paging.next"


def test_hubspot_paging_next_link() -> None:
    url = "https://api.hubapi.com/crm/v3/objects/contacts?limit=10"
    body = {"results": RECORDS, "paging": {"next": {"after": "11", "link": url + "&after=11"}}}
    spec = detect(view(body, url=url), get(url), None)
    assert isinstance(spec, CursorPagination) and spec.next.body == "paging.next.link"


def test_hateoas_links_array() -> None:
    body = {
        "items": RECORDS,
        "links": [
            {"href": "https://api.example.com/items?page=1", "rel": "self", "method": "GET"},
            {"href": "https://api.example.com/items?page=2", "rel": "next", "method": "GET"},
        ],
    }
    page = view(body)
    spec = detect(page, get("https://api.example.com/items"), None)
    assert isinstance(spec, CursorPagination)
    assert follow(spec, page, get(page.url)).url == "https://api.example.com/items?page=2"


def test_salesforce_next_records_url() -> None:
    body = {
        "totalSize": 5000,
        "done": False,
        "nextRecordsUrl": "/services/data/v58.0/query/01g-2000",
        "records": RECORDS,
    }
    url = "https://my.salesforce.com/services/data/v58.0/query?q=SELECT+Id+FROM+Account"
    page = view(body, url=url)
    spec = detect(page, get(url), None)
    assert isinstance(spec, CursorPagination) and spec.next.body == "nextRecordsUrl"
    assert follow(spec, page, get(url)).url == "https://my.salesforce.com/services/data/v58.0/query/01g-2000"


def test_twitter_next_token() -> None:
    body = {"data": RECORDS, "meta": {"result_count": 10, "next_token": "7140dibdnow9c7btw3w29"}}
    request = get("https://api.twitter.com/2/users/1/tweets", max_results="10")
    page = view(body)
    spec = detect(page, request, None)
    assert isinstance(spec, CursorPagination)
    assert follow(spec, page, request).query == {
        "max_results": "10",
        "pagination_token": "7140dibdnow9c7btw3w29",
    }


def test_slack_response_metadata_next_cursor() -> None:
    body = {"ok": True, "members": RECORDS, "response_metadata": {"next_cursor": "dXNlcjpVMEc5V0ZYTlo="}}
    request = get("https://slack.com/api/users.list", limit="10")
    page = view(body)
    spec = detect(page, request, None)
    assert isinstance(spec, CursorPagination) and spec.next.body == "response_metadata.next_cursor"
    assert follow(spec, page, request).query == {"limit": "10", "cursor": "dXNlcjpVMEc5V0ZYTlo="}
    last = view({**body, "response_metadata": {"next_cursor": ""}})
    assert spec.next_state(last, State()).next is None


def test_google_next_page_token() -> None:
    body = {"items": RECORDS, "nextPageToken": "CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA"}
    request = get("https://www.googleapis.com/calendar/v3/calendars/x/events", maxResults="10")
    page = view(body)
    spec = detect(page, request, None)
    assert follow(spec, page, request).query["pageToken"] == body["nextPageToken"]


def test_notion_post_body_start_cursor() -> None:
    body = {"object": "list", "results": RECORDS, "next_cursor": "e6c6f5ff-2a3b", "has_more": True}
    request = PreparedRequest(
        method="POST", url="https://api.notion.com/v1/databases/d/query", body={"page_size": 10}
    )
    page = view(body)
    spec = detect(page, request, None)
    assert isinstance(spec, CursorPagination) and spec.has_more == "has_more"
    assert follow(spec, page, request).body == {"page_size": 10, "start_cursor": "e6c6f5ff-2a3b"}


def test_airtable_string_offset_is_a_cursor() -> None:
    body = {"records": RECORDS, "offset": "itrHOXhsOfuzRHU6v/recX"}
    request = get("https://api.airtable.com/v0/app/table", pageSize="10")
    page = view(body)
    spec = detect(page, request, None)
    assert follow(spec, page, request).query == {"pageSize": "10", "offset": "itrHOXhsOfuzRHU6v/recX"}


def test_alloy_has_more_and_next_offset_in_the_body_options() -> None:
    body = {"data": RECORDS, "pagination": {"hasMore": True, "nextOffset": 10}}
    request = PreparedRequest(
        method="POST",
        url="https://production.runalloy.com/connectors/hubspot/actions/listContacts/execute",
        body={"credentialId": "c", "actionId": "listContacts", "input": {"limit": 10}},
    )
    page = view(body)
    spec = detect(page, request, None)
    assert isinstance(spec, OffsetPagination)
    assert follow(spec, page, request).body["input"] == {"limit": 10, "offset": 10}
    assert (
        spec.next_state(view({**body, "pagination": {"hasMore": False, "nextOffset": 10}}), State()).next
        is None
    )


def test_jira_start_at_max_results_total_is_last() -> None:
    body = {"startAt": 0, "maxResults": 10, "total": 95, "isLast": False, "values": RECORDS}
    request = get("https://x.atlassian.net/rest/agile/1.0/board")
    page = view(body)
    spec = detect(page, request, 25)
    assert dump(spec) == {
        "mode": "offset",
        "offset_param": {"in": "query", "name": "startAt"},
        "limit_param": {"in": "query", "name": "maxResults"},
        "total": "total",
        "has_more": "!isLast",
    }
    assert follow(spec, page, request, page_size=25).query == {"maxResults": "25", "startAt": "10"}
    assert spec.next_state(view({**body, "isLast": True}), State(offset=0)).next is None


def test_spring_data_page_without_hal() -> None:
    body = {"content": RECORDS, "last": False, "totalElements": 95, "totalPages": 10, "number": 0, "size": 10}
    request = get("https://api.example.com/people")
    page = view(body)
    spec = detect(page, request, None)
    assert isinstance(spec, PagePagination)
    assert spec.start_page == 0 and spec.has_more == "!last"
    assert follow(spec, page, request).query == {"page": "1"}


def test_wordpress_page_and_per_page_in_the_request() -> None:
    request = get("https://example.com/wp-json/wp/v2/posts", page="1", per_page="10")
    page = view(RECORDS, headers={"X-WP-Total": "95", "X-WP-TotalPages": "10"})
    spec = detect(page, request, None)
    assert isinstance(spec, PagePagination)
    assert follow(spec, page, request).query == {"page": "2", "per_page": "10"}


def test_page_size_differing_from_the_first_request_keeps_pages_aligned() -> None:
    """A page number means the same records only at the first page's size."""
    request = get("https://api.example.com/items", page="1", per_page="10")
    body = {"results": RECORDS, "page": 1, "total_pages": 10}
    spec = detect(view(body), request, 50)
    assert isinstance(spec, PagePagination) and spec.size_param is None
    assert follow(spec, view(body), request, page_size=50).query == {"page": "2", "per_page": "10"}


def test_offset_and_total_echoed_in_the_response() -> None:
    body = {"items": RECORDS, "total": 95, "limit": 10, "offset": 0}
    request = get("https://api.example.com/items")
    page = view(body)
    spec = detect(page, request, None)
    assert isinstance(spec, OffsetPagination) and spec.total == "total"
    assert follow(spec, page, request).query == {"offset": "10"}


def test_next_header_cursor() -> None:
    request = get("https://api.example.com/items", limit="10")
    page = view(RECORDS, headers={"X-Next-Cursor": "abc"})
    spec = detect(page, request, None)
    assert follow(spec, page, request).query == {"limit": "10", "cursor": "abc"}


def test_plain_list_or_object_is_a_single_page() -> None:
    for body in (RECORDS, {"data": RECORDS}, {"results": RECORDS, "count": 10}):
        assert isinstance(detect(view(body), get("https://api.example.com/items"), None), NoPagination)


def test_has_more_with_an_offset_the_request_sent() -> None:
    body = {"data": RECORDS, "has_more": True}
    request = get("https://api.example.com/items", offset="0", limit="10")
    page = view(body)
    spec = detect(page, request, None)
    assert isinstance(spec, OffsetPagination) and spec.has_more == "has_more"
    assert follow(spec, page, request).query == {"offset": "10", "limit": "10"}


def test_a_non_http_next_link_is_ignored() -> None:
    body = {"data": RECORDS, "next": "javascript:alert(1)"}
    spec = detect(view(body), get("https://api.example.com/items"), None)
    assert not (isinstance(spec, CursorPagination) and spec.cursor_param.in_ == "url")


@pytest.mark.anyio
@pytest.mark.parametrize(
    "pagination",
    [
        {"mode": "auto"},  # the first request goes as configured: no page size is added
        {"mode": "offset", "limit_param": None, "total": "total"},  # no page size is ever sent
    ],
)
async def test_the_page_request_shows_a_limit_only_when_one_was_sent(
    fresh_api: SampleAPI, pagination: dict[str, Any]
) -> None:
    # Before, page.request said limit 20 (the asked-for size, capped) for requests that sent none.
    config = AppConfig.model_validate({"sources": {"items": {
        "url": fresh_api.url + "/offset", "records": "items", "max_page_size": 20, "pagination": pagination,
    }}})  # fmt: skip
    async with open_app(config, "memory://") as app:
        page = await list_page(app, PagingArguments(source="items", page_size=100))
    assert page.page.size == DEFAULT_PAGE_SIZE  # the API's own size: no limit reached it
    assert page.page.request == {"offset": 0}


def test_algolia_zero_based_page_with_nb_hits() -> None:
    body = {"hits": RECORDS, "nbHits": 95, "page": 0, "nbPages": 10, "hitsPerPage": 10, "query": ""}
    request = get("https://app-dsn.algolia.net/1/indexes/products")
    page = view(body)
    spec = detect(page, request, None)
    assert isinstance(spec, PagePagination)
    assert spec.start_page == 0 and spec.total == "nbHits" and spec.total_pages == "nbPages"
    assert follow(spec, page, request).query == {"page": "1"}


def test_spring_data_page_prefers_its_page_number_to_the_offset_it_echoes() -> None:
    pageable = {"pageNumber": 0, "pageSize": 10, "offset": 0, "paged": True}
    body = {
        "content": RECORDS,
        "pageable": pageable,
        "last": False,
        "totalElements": 95,
        "number": 0,
        "size": 10,
    }
    request = get("https://api.example.com/people")
    spec = detect(view(body), request, None)
    assert isinstance(spec, PagePagination) and spec.start_page == 0
    assert follow(spec, view(body), request).query == {"page": "1"}


def test_an_integer_cursor_is_a_cursor() -> None:
    """Litestar's CursorPagination answers the last record's id as ``cursor``."""
    body = {"items": RECORDS, "results_per_page": 10, "cursor": 10}
    request = get("https://api.example.com/items")
    spec = detect(view(body), request, None)
    assert dump(spec) == {"mode": "cursor", "next": {"body": "cursor"}}  # sent as ?cursor=, the default
    assert follow(spec, view(body), request).query == {"cursor": "10"}
