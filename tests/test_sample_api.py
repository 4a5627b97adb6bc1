"""The sample API over real loopback HTTP: every style drains exactly, every fault is observable."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import anyio
import httpx2
import pytest

from mcp_paginate.sample import FaultPlan, SampleAPI, Stats, create_app, make_record

N = 237
ALLOY_PATH = "/connectors/hubspot/actions/listContacts/execute"
ALLOY_HEADERS = {"x-api-version": "2025-09", "x-alloy-userid": "user-1"}

JSON = dict[str, Any]
Call = tuple[str, str, JSON]  # method, url, keyword arguments for httpx2.Client.request
Records = list[JSON]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def shared_api() -> Iterator[SampleAPI]:
    with SampleAPI() as api:
        yield api


@pytest.fixture
def api(shared_api: SampleAPI) -> Iterator[SampleAPI]:
    """The module's server with no faults and fresh stats."""
    shared_api.faults = FaultPlan()
    shared_api.stats.reset()
    yield shared_api
    shared_api.faults = FaultPlan()


@pytest.fixture(scope="module")
def shared_client(shared_api: SampleAPI) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=shared_api.url, timeout=5) as http:
        yield http


@pytest.fixture
def client(api: SampleAPI, shared_client: httpx2.Client) -> httpx2.Client:
    """A client of `api` (one for the module: building one costs more than a page walk)."""
    return shared_client


# --------------------------------------------------------------------------------------------
# One walker per style: the first call, and how a response leads to the next call.
# --------------------------------------------------------------------------------------------


def alloy_call(limit: int, offset: int = 0, **overrides: Any) -> Call:
    body = {"credentialId": "cred-1", "actionId": "listContacts", "input": {"limit": limit, "offset": offset}}
    return "POST", ALLOY_PATH, {"headers": ALLOY_HEADERS, "json": body | overrides}


def get(url: str, **params: Any) -> Call:
    return "GET", url, {"params": params} if params else {}


def advance_alloy(response: httpx2.Response, call: Call) -> tuple[Records, Call | None]:
    body = response.json()
    more = body["pagination"]["hasMore"]
    limit = call[2]["json"]["input"]["limit"]
    return body["data"], alloy_call(limit, body["pagination"]["nextOffset"]) if more else None


def advance_offset(response: httpx2.Response, call: Call) -> tuple[Records, Call | None]:
    body = response.json()
    offset = body["offset"] + len(body["items"])
    more = body["items"] and offset < body["total"]
    return body["items"], get("/offset", limit=body["limit"], offset=offset) if more else None


def advance_pages(response: httpx2.Response, call: Call) -> tuple[Records, Call | None]:
    body, params = response.json(), call[2]["params"]
    more = bool(body["results"])  # no signal at all: only an empty page ends it
    return body["results"], get(
        "/pages", page=body["page"] + 1, page_size=params["page_size"]
    ) if more else None


def advance_pages_total(response: httpx2.Response, call: Call) -> tuple[Records, Call | None]:
    body, params = response.json(), call[2]["params"]
    more = body["page"] < body["total_pages"]
    next_call = get("/pages-total", page=body["page"] + 1, page_size=params["page_size"])
    return body["results"], next_call if more else None


def advance_token(response: httpx2.Response, call: Call) -> tuple[Records, Call | None]:
    body, size = response.json(), call[2]["params"]["max_results"]
    token = body["meta"].get("next_token")
    return body["data"], get("/token", max_results=size, pagination_token=token) if token else None


def advance_header_cursor(response: httpx2.Response, call: Call) -> tuple[Records, Call | None]:
    cursor, size = response.headers.get("x-next-cursor"), call[2]["params"]["limit"]
    return response.json(), get("/header-cursor", limit=size, cursor=cursor) if cursor else None


def advance_link(response: httpx2.Response, call: Call) -> tuple[Records, Call | None]:
    next_link = response.links.get("next")
    return response.json(), get(urljoin(str(response.url), next_link["url"])) if next_link else None


def advance_starting_after(response: httpx2.Response, call: Call) -> tuple[Records, Call | None]:
    body, size = response.json(), call[2]["params"]["limit"]
    more = body["has_more"] and body["data"]
    return body["data"], get(
        "/starting-after", limit=size, starting_after=body["data"][-1]["id"]
    ) if more else None


def advance_next_url(response: httpx2.Response, call: Call) -> tuple[Records, Call | None]:
    body = response.json()
    return body["results"], get(body["next"]) if body["next"] else None


def advance_odata(response: httpx2.Response, call: Call) -> tuple[Records, Call | None]:
    body = response.json()
    next_link = body.get("@odata.nextLink")
    return body["value"], get(next_link) if next_link else None


def advance_hal(response: httpx2.Response, call: Call) -> tuple[Records, Call | None]:
    body = response.json()
    next_link = body["_links"].get("next")
    return body["_embedded"]["items"], get(next_link["href"]) if next_link else None


@dataclass(frozen=True)
class Style:
    first: Callable[[int], Call]
    advance: Callable[[httpx2.Response, Call], tuple[Records, Call | None]]


STYLES: dict[str, Style] = {
    "alloy": Style(alloy_call, advance_alloy),
    "offset": Style(lambda size: get("/offset", limit=size), advance_offset),
    "pages": Style(lambda size: get("/pages", page=1, page_size=size), advance_pages),
    "pages-total": Style(lambda size: get("/pages-total", page=1, page_size=size), advance_pages_total),
    "token": Style(lambda size: get("/token", max_results=size), advance_token),
    "header-cursor": Style(lambda size: get("/header-cursor", limit=size), advance_header_cursor),
    "link": Style(lambda size: get("/link", per_page=size), advance_link),
    "link-relative": Style(lambda size: get("/link", per_page=size, relative=1), advance_link),
    "starting-after": Style(lambda size: get("/starting-after", limit=size), advance_starting_after),
    "next-url": Style(lambda size: get("/next-url", limit=size), advance_next_url),
    "odata": Style(lambda size: get("/odata", **{"$top": size}), advance_odata),
    "hal": Style(lambda size: get("/hal", size=size), advance_hal),
}
CURSOR_STYLES = ["token", "header-cursor", "link", "link-relative", "next-url", "odata", "hal"]
HAS_MORE_STYLES = ["alloy", *CURSOR_STYLES]


def pages(
    client: httpx2.Client, style: str, size: int, max_pages: int = 200
) -> Iterator[tuple[Call, Records]]:
    """Each call made and the records it returned, following the style's continuation."""
    call: Call | None = STYLES[style].first(size)
    for _ in range(max_pages):
        if call is None:
            return
        method, url, kwargs = call
        response = client.request(method, url, **kwargs)
        assert response.status_code == 200, response.text
        records, next_call = STYLES[style].advance(response, call)
        yield call, records
        call = next_call
    raise AssertionError(f"{style} did not end within {max_pages} pages")


def drain(client: httpx2.Client, style: str, size: int) -> list[int]:
    return [record["id"] for _, records in pages(client, style, size) for record in records]


# --------------------------------------------------------------------------------------------
# Every style drains exactly
# --------------------------------------------------------------------------------------------


def test_records_are_deterministic(client: httpx2.Client) -> None:
    first = client.get("/offset", params={"limit": 1}).json()["items"][0]
    assert first == {
        "id": 1,
        "name": "Record 1",
        "email": "user1@example.test",
        "group": "green",
        "score": 37,
    }
    assert make_record(3)["group"] == "red"


@pytest.mark.parametrize("size", [10, 50])
@pytest.mark.parametrize("style", STYLES)
def test_walking_every_style_returns_each_record_once(client: httpx2.Client, style: str, size: int) -> None:
    assert drain(client, style, size) == list(range(1, N + 1))


def test_page_size_defaults_to_10(client: httpx2.Client) -> None:
    assert len(client.get("/token").json()["data"]) == 10
    assert len(client.get("/link").json()) == 10
    alloy = client.post(
        ALLOY_PATH, headers=ALLOY_HEADERS, json={"credentialId": "c", "actionId": "listContacts"}
    )
    assert alloy.json()["pagination"] == {"hasMore": True, "nextOffset": 10}


def test_alloy_rejects_limit_over_50(client: httpx2.Client) -> None:
    method, url, kwargs = alloy_call(51)
    response = client.request(method, url, **kwargs)
    assert response.status_code == 400
    assert response.json() == {"error": "Bad Request", "message": "limit must be at most 50"}  # Alloy's shape


@pytest.mark.parametrize(
    ("headers", "overrides", "error"),
    [
        ({"x-alloy-userid": "u"}, {}, "x-api-version"),
        ({"x-api-version": "2025-09"}, {}, "x-alloy-userid"),
        (ALLOY_HEADERS, {"actionId": "other"}, "actionId"),
        (ALLOY_HEADERS, {"credentialId": None}, "credentialId"),
        (ALLOY_HEADERS, {"input": {"limit": "ten"}}, "limit must be an integer"),
    ],
)
def test_alloy_rejects_malformed_requests(
    client: httpx2.Client, headers: dict[str, str], overrides: JSON, error: str
) -> None:
    _, url, kwargs = alloy_call(10, **overrides)
    response = client.post(url, headers=headers, json=kwargs["json"])
    assert response.status_code == 400
    assert error in response.json()["message"]  # Alloy's error shape: {"error", "message"}


def test_pages_silently_caps_page_size_at_25(client: httpx2.Client) -> None:
    body = client.get("/pages", params={"page": 2, "page_size": 50}).json()
    assert [r["id"] for r in body["results"]] == list(range(26, 51))
    assert set(body) == {"results", "page"}  # nothing says the size was capped, nor that more exist
    totals = client.get("/pages-total", params={"page_size": 50}).json()
    assert (len(totals["results"]), totals["total"], totals["total_pages"]) == (50, N, 5)


def test_offset_silently_caps_limit_at_100(client: httpx2.Client) -> None:
    body = client.get("/offset", params={"limit": 500}).json()
    assert (len(body["items"]), body["limit"], body["total"]) == (100, 100, N)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/offset", {"limit": "x"}),
        ("/offset", {"offset": "-1"}),
        ("/pages", {"page": "0"}),
        ("/link", {"per_page": "1.5"}),
        ("/starting-after", {"starting_after": "cus_1"}),
        ("/token", {"pagination_token": "tok_forged"}),
        ("/header-cursor", {"cursor": "nope"}),
        ("/odata", {"$top": "0"}),
    ],
)
def test_bad_parameters_are_a_400_with_a_json_error(client: httpx2.Client, path: str, params: JSON) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 400
    assert response.json()["error"]


def test_link_header_is_absolute_with_first_prev_next_last(api: SampleAPI, client: httpx2.Client) -> None:
    links = client.get("/link", params={"page": 3, "per_page": 10}).links
    assert {rel: link["url"] for rel, link in links.items()} == {
        rel: f"{api.url}/link?page={page}&per_page=10"
        for rel, page in {"next": 4, "last": 24, "first": 1, "prev": 2}.items()
    }
    assert client.get("/link", params={"page": 24}).links.keys() == {"first", "prev"}


def test_link_relative_mode_gives_paths(client: httpx2.Client) -> None:
    links = client.get("/link", params={"page": 2, "per_page": 10, "relative": 1}).links
    assert links["next"]["url"] == "/link?page=3&per_page=10&relative=1"
    assert links["prev"]["url"] == "/link?page=1&per_page=10&relative=1"


def test_next_url_previous_and_count(api: SampleAPI, client: httpx2.Client) -> None:
    body = client.get("/next-url", params={"limit": 10, "offset": 20}).json()
    assert body["count"] == N
    assert body["next"] == f"{api.url}/next-url?limit=10&offset=30"
    assert body["previous"] == f"{api.url}/next-url?limit=10&offset=10"
    assert client.get("/next-url", params={"offset": 230}).json()["next"] is None


# --------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------


def test_status_fault_every_nth_request_with_retry_after(api: SampleAPI, client: httpx2.Client) -> None:
    api.faults = FaultPlan(status_every=3, status_code=429, retry_after="1")
    statuses = [client.get("/offset").status_code for _ in range(6)]
    assert statuses == [200, 200, 429, 200, 200, 429]
    api.faults.status_code = 503
    api.faults.retry_after = None
    client.get("/offset")
    client.get("/offset")
    response = client.get("/offset")
    assert response.status_code == 503
    assert "retry-after" not in response.headers
    assert "error" in response.json()


def test_retry_after_is_sent_verbatim(api: SampleAPI, client: httpx2.Client) -> None:
    api.faults = FaultPlan(status_every=1, status_code=429, retry_after="Wed, 21 Oct 2026 07:28:00 GMT")
    response = client.get("/token")
    assert (response.status_code, response.headers["retry-after"]) == (429, "Wed, 21 Oct 2026 07:28:00 GMT")


def test_reset_fault_drops_the_connection_without_a_response(api: SampleAPI, client: httpx2.Client) -> None:
    api.faults = FaultPlan(reset_every=2)
    assert client.get("/offset").status_code == 200
    with pytest.raises(httpx2.RemoteProtocolError, match="without sending a response"):
        client.get("/offset")
    assert client.get("/offset").status_code == 200


def test_truncate_fault_promises_the_full_length_and_sends_half(
    api: SampleAPI, client: httpx2.Client
) -> None:
    full = client.get("/offset").content
    api.faults = FaultPlan(truncate_every=1)
    with client.stream("GET", "/offset") as response:
        assert int(response.headers["content-length"]) == len(full)
        with pytest.raises(httpx2.RemoteProtocolError, match="incomplete|complete message body"):
            response.read()


def test_bad_json_fault_answers_html(api: SampleAPI, client: httpx2.Client) -> None:
    api.faults = FaultPlan(bad_json_every=2)
    assert client.get("/hal").headers["content-type"].startswith("application/json")
    response = client.get("/hal")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_slow_fault_delays_only_the_nth_request(api: SampleAPI, client: httpx2.Client) -> None:
    api.faults = FaultPlan(slow_every=2, slow_seconds=0.3)
    elapsed = []
    for _ in range(2):
        started = time.monotonic()
        client.get("/offset")
        elapsed.append(time.monotonic() - started)
    assert elapsed[0] < 0.3 <= elapsed[1]


@pytest.mark.parametrize("style", CURSOR_STYLES)
def test_loop_fault_hands_out_the_first_pages_cursor_again(
    api: SampleAPI, client: httpx2.Client, style: str
) -> None:
    api.faults = FaultPlan(loop=True)
    calls = [call for call, _ in islice(pages(client, style, 10), 4)]
    assert calls[3] == calls[1]  # page 3 points back at what page 1 pointed to
    assert calls[2] != calls[1]
    with pytest.raises(AssertionError, match="did not end"):
        list(pages(client, style, 10, max_pages=10))


@pytest.mark.parametrize(("style", "next_of"), [
    ("link", lambda r: r.links["next"]["url"]),
    ("link-relative", lambda r: r.links["next"]["url"]),
    ("next-url", lambda r: r.json()["next"]),
    ("odata", lambda r: r.json()["@odata.nextLink"]),
    ("hal", lambda r: r.json()["_links"]["next"]["href"]),
])  # fmt: skip
def test_evil_next_url_points_the_first_next_link_elsewhere(
    api: SampleAPI,
    evil: SampleAPI,
    client: httpx2.Client,
    style: str,
    next_of: Callable[[httpx2.Response], str],
) -> None:
    api.faults = FaultPlan(evil_next_url=evil.url)
    method, url, kwargs = STYLES[style].first(10)
    next_link = next_of(client.request(method, url, **kwargs))
    assert next_link.startswith(f"{evil.url}/")
    second = client.get(next_link.removeprefix(evil.url))  # path and query are kept
    assert second.status_code == 200
    assert not next_of(second).startswith(evil.url)
    assert evil.stats.requests == 0
    # A careless client follows it with the credential: the evil host's stats show it.
    client.get(next_link, headers={"Authorization": "Bearer leaked"})
    assert evil.stats.authorizations == ["Bearer leaked"]


@pytest.fixture(scope="module")
def shared_evil() -> Iterator[SampleAPI]:
    with SampleAPI() as api:
        yield api


@pytest.fixture
def evil(shared_evil: SampleAPI) -> SampleAPI:
    """A second origin, standing in for a host that must never see the credential."""
    shared_evil.stats.reset()
    return shared_evil


@pytest.mark.parametrize("style", HAS_MORE_STYLES)
def test_empty_forever_keeps_claiming_more_with_empty_pages(
    api: SampleAPI, client: httpx2.Client, style: str
) -> None:
    api.faults = FaultPlan(empty_forever=True)
    walked = list(islice(pages(client, style, 10), 30))
    assert [r["id"] for _, records in walked for r in records] == list(range(1, N + 1))
    assert all(records == [] for _, records in walked[24:])
    calls = [call for call, _ in walked]
    assert len({json.dumps(call, sort_keys=True) for call in calls}) == len(calls)  # always advancing


def test_empty_forever_starting_after_says_has_more_past_the_end(
    api: SampleAPI, client: httpx2.Client
) -> None:
    api.faults = FaultPlan(empty_forever=True)
    body = client.get("/starting-after", params={"starting_after": N}).json()
    assert (body["data"], body["has_more"]) == ([], True)


def test_growing_total_grows_by_a_page_per_request(api: SampleAPI, client: httpx2.Client) -> None:
    api.faults = FaultPlan(growing_total=True)
    totals = [client.get("/offset", params={"limit": 20}).json()["total"] for _ in range(3)]
    assert totals == [N + 20, N + 40, N + 60]
    assert client.get("/offset", params={"offset": N}).json()["items"] == []


def test_huge_body_is_streamed_at_exactly_the_size(api: SampleAPI, client: httpx2.Client) -> None:
    api.faults = FaultPlan(huge_body_bytes=5_000_000)
    with client.stream("GET", "/offset") as response:
        assert "content-length" not in response.headers
        received = sum(len(chunk) for chunk in response.iter_raw())
    assert received == 5_000_000
    api.faults.huge_body_bytes = 100
    body = client.get("/token")
    assert len(body.content) == 100
    assert body.json()["data"].startswith("xxx")


@pytest.mark.parametrize("style", STYLES)
def test_a_retrying_client_drains_exactly_despite_faults(api: SampleAPI, style: str) -> None:
    api.faults = FaultPlan(
        status_every=4, retry_after="0", reset_every=5, truncate_every=7, bad_json_every=11
    )
    transport = RetryingTransport()
    with httpx2.Client(base_url=api.url, transport=transport, timeout=5) as retrying:
        assert drain(retrying, style, 10) == list(range(1, N + 1))
    assert transport.failures >= 10


class RetryingTransport(httpx2.BaseTransport):
    """Retries transport errors, 429/503 and non-JSON answers, as a well-behaved client would."""

    def __init__(self) -> None:
        self.inner = httpx2.HTTPTransport()
        self.failures = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        for _ in range(10):
            try:
                response = self.inner.handle_request(request)
                response.read()
            except httpx2.TransportError:
                self.failures += 1
                continue
            if response.status_code in (429, 503) or "json" not in response.headers.get("content-type", ""):
                self.failures += 1
                continue
            return response
        raise AssertionError("too many failures in a row")

    def close(self) -> None:
        self.inner.close()


def test_faults_via_http_set_show_and_clear(api: SampleAPI, client: httpx2.Client) -> None:
    shown = client.post("/_faults", json={"status_every": 1, "status_code": 500}).json()
    assert (shown["status_every"], shown["status_code"], shown["loop"]) == (1, 500, False)
    assert api.faults.status_every == 1
    assert client.get("/offset").status_code == 500
    assert client.get("/_stats").status_code == 200  # control endpoints are never faulted
    assert client.get("/_faults").json()["status_code"] == 500
    assert client.delete("/_faults").json()["status_every"] is None
    assert client.get("/offset").status_code == 200


@pytest.mark.parametrize("body", [{"nope": 1}, {"status_every": "often"}, [1, 2]])
def test_faults_via_http_reject_bad_plans(client: httpx2.Client, body: object) -> None:
    response = client.post("/_faults", json=body)
    assert response.status_code == 400
    assert response.json()["error"]


def test_replacing_the_plan_restarts_the_request_numbering(api: SampleAPI, client: httpx2.Client) -> None:
    api.faults = FaultPlan(status_every=2)
    assert [client.get("/offset").status_code for _ in range(3)] == [200, 503, 200]
    api.faults = FaultPlan(status_every=2)
    assert [client.get("/offset").status_code for _ in range(2)] == [200, 503]


# --------------------------------------------------------------------------------------------
# Stats, auth, lifecycle, command line
# --------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_stats_count_requests_paths_and_concurrency() -> None:
    with SampleAPI(latency=0.2) as api:
        async with httpx2.AsyncClient(base_url=api.url, timeout=5) as client:
            with anyio.fail_after(5):
                async with anyio.create_task_group() as group:
                    for path in ["/offset"] * 4 + ["/token"] * 2:
                        group.start_soon(client.get, path)
            stats = (await client.get("/_stats")).json()
    assert api.stats.max_in_flight == 6
    assert api.stats.requests == 6
    assert api.stats.requests_by_path == {"/offset": 4, "/token": 2}
    assert len(api.stats.timestamps) == 6
    assert stats["max_in_flight"] == 6
    assert stats["requests_by_path"] == {"/offset": 4, "/token": 2}


def test_stats_reset_over_http(api: SampleAPI, client: httpx2.Client) -> None:
    client.get("/offset", headers={"Authorization": "Bearer x"})
    assert api.stats.authorizations == ["Bearer x"]
    assert client.post("/_stats/reset").json()["requests"] == 0
    assert (api.stats.requests, api.stats.authorizations, api.stats.timestamps) == (0, [], [])


def test_stats_lists_are_bounded() -> None:
    stats = Stats(keep=3)
    for i in range(5):
        stats.request_started("/p", f"Bearer {i}")
        stats.request_finished()
    assert stats.authorizations == ["Bearer 2", "Bearer 3", "Bearer 4"]
    assert (stats.requests, len(stats.timestamps)) == (5, 3)


def test_create_app_exposes_its_stats() -> None:
    app = create_app(records=3)
    assert isinstance(app.state.stats, Stats)


def test_api_key_is_enforced_on_data_endpoints() -> None:
    with SampleAPI(records=5, api_key="s3cret") as api, httpx2.Client(base_url=api.url) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            response = client.get("/offset", headers=headers)
            assert (response.status_code, response.json()) == (401, {"error": "invalid api key"})
        ok = client.get("/offset", headers={"Authorization": "Bearer s3cret"})
        assert len(ok.json()["items"]) == 5
        assert client.get("/_stats").status_code == 200
        assert api.stats.authorizations == ["Bearer wrong", "Bearer s3cret"]


def test_stop_is_prompt_and_closes_the_port() -> None:
    api = SampleAPI(records=5)
    with pytest.raises(RuntimeError):
        _ = api.url
    with api:
        url = api.url
        assert httpx2.get(f"{url}/offset").status_code == 200
        started = time.monotonic()
    assert time.monotonic() - started < 2
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(f"{url}/offset")
    api.stop()  # idempotent


def test_command_line_prints_the_url_and_serves() -> None:
    command = [sys.executable, "-m", "mcp_paginate.sample", "--records", "7", "--latency", "1"]
    repo = Path(__file__).resolve().parents[1]
    with subprocess.Popen(command, cwd=repo, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:")
            body = httpx2.get(f"{url}/offset", params={"limit": 100}, timeout=5).json()
            assert [r["id"] for r in body["items"]] == list(range(1, 8))
        finally:
            process.terminate()
            process.wait(timeout=5)


def test_the_sample_api_command_prints_url_and_styles_pages_and_stops_on_ctrl_c() -> None:
    command = [sys.executable, "-m", "mcp_paginate", "sample-api", "--records", "12", "--latency", "1"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            lines = []  # up to "press Ctrl-C" (bounded); "" at EOF
            for line in islice(iter(process.stdout.readline, ""), 30):
                lines.append(line)
                if line.startswith("press Ctrl-C"):
                    break
            header = lines[0]
            assert (
                header.startswith("sample API: http://127.0.0.1:") and "(12 records, 1 ms latency)" in header
            )
            url = header.split()[2]
            styles = "".join(lines[1:])
            assert "POST /connectors/{connector}/actions/{action}/execute" in styles
            for path in ("/offset", "/pages-total", "/header-cursor", "/link", "/hal"):
                assert path in styles
            assert lines[-1].strip() == "press Ctrl-C to stop"
            ids: list[int] = []
            next_url: str | None = f"{url}/link?per_page=5"
            while next_url:  # bounded: 12 records in pages of 5
                response = httpx2.get(next_url, timeout=5)
                ids += [record["id"] for record in response.json()]
                next_url = response.links.get("next", {}).get("url")
            assert ids == list(range(1, 13))
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, err
    assert out.strip() == "sample API stopped" and "Traceback" not in err


def test_the_sample_api_command_refuses_bad_values_in_one_line() -> None:
    command = [sys.executable, "-m", "mcp_paginate", "sample-api", "--latency", "-5"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == "mcp-paginate: error: --latency must be 0 or more milliseconds, got -5"
