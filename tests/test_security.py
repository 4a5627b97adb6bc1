"""Security, end to end through a real MCP client: SSRF, origins and redirects, secrets, cursors,
bounded resources and the HTTP transport.

Every test talks to real servers on loopback: the sample API, a small recording app of this
file (`Recorder`: redirects, echoed keys, a record of every header and body it received), and,
for the HTTP transport, ``mcp-paginate serve --transport http`` in a subprocess.
"""

from __future__ import annotations

import json
import logging
import os
import re
import resource
import secrets
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

import anyio
import httpx2
import pytest
import redis
import uvicorn
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcp_paginate.config import AppConfig
from mcp_paginate.sample import FaultPlan, SampleAPI
from mcp_paginate.server import create_server
from tests.conftest import structured
from tests.redis_server import free_port, redis_url  # noqa: F401 - the fixture, requested by name
from tests.support import ALL_IDS, ALLOY_ENV, sample_sources

pytestmark = pytest.mark.anyio

# Distinct, greppable secrets (each long enough for the redactor; none a substring of another).
SAMPLE_KEY = "sample-bearer-7c1d0e"
HEADER_SECRET = "xapikey-secret-2b9a41"
QUERY_SECRET = "query-secret-5e6f33"
BODY_SECRET = "body-secret-8a7b52"
CUSTOM_SECRET = "tenant-secret-3d4c19"
COOKIE_SECRET = "cookie-secret-6f0a27"
PLUS_SECRET = "sk+live/AbC9=="  # a base64-like key: "+", "/" and "=" change when percent-encoded
ALLOY_KEY = ALLOY_ENV["ALLOY_API_KEY"]
SECRETS = (SAMPLE_KEY, HEADER_SECRET, QUERY_SECRET, BODY_SECRET, CUSTOM_SECRET, COOKIE_SECRET, ALLOY_KEY)
ENV = {
    **ALLOY_ENV,
    "SAMPLE_KEY": SAMPLE_KEY,
    "HEADER_SECRET": HEADER_SECRET,
    "QUERY_SECRET": QUERY_SECRET,
    "BODY_SECRET": BODY_SECRET,
    "CUSTOM_SECRET": CUSTOM_SECRET,
    "COOKIE_SECRET": COOKIE_SECRET,
    "PLUS_SECRET": PLUS_SECRET,
}
SECRET_HEADERS = {
    "Authorization": "Bearer ${SAMPLE_KEY}",
    "X-Api-Key": "${HEADER_SECRET}",
    "X-Tenant": "${CUSTOM_SECRET}",  # an innocent name: a credential because its value is a secret
    "Cookie": "session=${COOKIE_SECRET}",
    "X-Trace": "trace-1",  # not a credential: still sent everywhere
}
CREDENTIAL_NAMES = {"authorization", "x-api-key", "x-tenant", "cookie"}
FAST = {"retries": 0, "backoff_base_seconds": 0.0}


# --------------------------------------------------------------------------------------------
# Helpers: a recording upstream, configs, result text
# --------------------------------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


class Recorder:
    """A tiny upstream in a uvicorn thread that records every request it receives.

    - ``/redirect/{code}?to=URL`` answers ``code`` with ``Location: URL``;
    - ``/echo/{status}`` answers ``status`` with ``{"error": "bad key ..."}`` quoting the
      X-Api-Key and Authorization headers and the ``api_key`` query parameter it got, after
      ``pad`` x's if the query asks for them;
    - ``/echo-line/{status}`` answers ``status`` quoting its request line as sent (query encoded);
    - ``/echo-records`` answers a record quoting the Authorization header and URL it got;
    - ``/lower-hex`` pages twice, its next link carrying the ``api_key`` it got re-encoded with
      lower-case hex escapes (``%2b``), as some APIs write them;
    - any other path answers ``{"results": [{"id": 1000, "by": PORT}, {"id": 1001, "by": PORT}],
      "next": …}``, the ``next`` query parameter it got (or null).
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/redirect/{code:int}", self._redirect, methods=["GET", "POST"]),
                Route("/echo/{status:int}", self._echo, methods=["GET", "POST"]),
                Route("/echo-line/{status:int}", self._echo_line, methods=["GET", "POST"]),
                Route("/lower-hex", self._lower_hex, methods=["GET"]),
                Route("/echo-records", self._echo_records, methods=["GET"]),
                Route(
                    "/{rest:path}", self._records, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "QUERY"]
                ),
            ]
        )
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"

    async def _record(self, request: Request) -> Seen:
        seen = Seen(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.body(),
        )
        with self._lock:
            self.seen.append(seen)
        return seen

    async def _redirect(self, request: Request) -> Response:
        await self._record(request)
        code = int(request.path_params["code"])
        return Response(status_code=code, headers={"location": request.query_params["to"]})

    async def _echo(self, request: Request) -> Response:
        seen = await self._record(request)
        echoed = "x" * int(seen.query.get("pad", "0")) + (
            f"bad key {seen.headers.get('x-api-key')}; auth {seen.headers.get('authorization')}; "
            f"query {seen.query.get('api_key')}"
        )
        return JSONResponse({"error": echoed}, status_code=int(request.path_params["status"]))

    async def _echo_line(self, request: Request) -> Response:
        await self._record(request)
        line = f"{request.method} {request.url.path}?{request.url.query}"
        return JSONResponse({"error": f"bad request: {line}"}, status_code=int(request.path_params["status"]))

    async def _lower_hex(self, request: Request) -> Response:
        seen = await self._record(request)
        key = quote(seen.query.get("api_key", ""), safe="")
        lower = re.sub("%[0-9A-F]{2}", lambda match: match.group().lower(), key)
        page = int(seen.query.get("page", "1"))
        following = f"{self.url}/lower-hex?page={page + 1}&api_key={lower}" if page < 2 else None
        return JSONResponse({"results": [{"id": page}], "next": following})

    async def _echo_records(self, request: Request) -> Response:
        seen = await self._record(request)
        echoed = {"id": 1, "auth": seen.headers.get("authorization"), "url": str(request.url)}
        return JSONResponse({"results": [echoed, {"id": 2, "name": "plain"}], "next": None})

    async def _records(self, request: Request) -> Response:
        await self._record(request)
        # Each recorder's records differ ("by"): two recorders' pages are not one page repeated.
        records = [{"id": 1000, "by": self.port}, {"id": 1001, "by": self.port}]
        return JSONResponse({"results": records, "next": request.query_params.get("next")})

    def __enter__(self) -> Recorder:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        sock.listen(128)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, http="h11", ws="none", lifespan="off", log_level="warning", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="recorder", daemon=True
        )
        self._thread.start()
        for _ in range(2000):  # bounded: 10 s
            if self._server.started:
                break
            time.sleep(0.005)
        assert self._server.started, "the recorder did not start"
        self._socket = sock
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(10)
        self._socket.close()


def config_of(sources: dict[str, Any], **server: Any) -> AppConfig:
    settings = {"allowed_hosts": [], **FAST, **server}
    return AppConfig.model_validate({"server": settings, "sources": sources}, context={"environ": ENV})


@asynccontextmanager
async def connect(config: AppConfig, store: str = "memory://") -> AsyncIterator[Client]:
    async with Client(create_server(config, store, environ=ENV)) as client:
        yield client


def error_text(result: Any) -> str:
    assert result.is_error, f"expected a tool error, got {result.structured_content}"
    return " ".join(getattr(block, "text", "") for block in result.content)


def all_text(result: Any) -> str:
    """Everything a tool result shows: every content block and the structured content."""
    texts = [getattr(block, "text", "") for block in result.content]
    return " ".join(texts) + json.dumps(result.structured_content)


def assert_no_secret(text: str, where: str) -> None:
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, f"{where} shows secrets {leaked}"


def encoded_forms(secret: str) -> list[str]:
    """The secret as text may carry it: as is, percent-encoded (path, query, form), with upper-
    and lower-case hex escapes, JSON-escaped."""
    encoded = [quote(secret, safe=""), quote(secret), quote_plus(secret)]
    lower = [re.sub("%[0-9A-F]{2}", lambda match: match.group().lower(), text) for text in encoded]
    return sorted({secret, *encoded, *lower, json.dumps(secret)[1:-1], secret.replace("/", "\\/")})


def assert_no_secret_form(text: str, where: str, secret: str = PLUS_SECRET) -> None:
    leaked = [form for form in encoded_forms(secret) if form in text]
    assert not leaked, f"{where} shows {secret!r} as {leaked}"


def ids(records: list[dict[str, Any]]) -> list[int]:
    return [int(record["id"]) for record in records]


@pytest.fixture
def other_loopback() -> Iterator[SampleAPI]:
    """A second sample API on another loopback address (another origin), with no faults."""
    with SampleAPI(host="127.0.0.2") as api:
        yield api


# --------------------------------------------------------------------------------------------
# 5. SSRF: ad-hoc requests
# --------------------------------------------------------------------------------------------


async def test_ad_hoc_request_refused_without_allowed_hosts_and_nothing_is_sent(fresh_api: SampleAPI) -> None:
    async with connect(config_of({})) as client:
        sources = structured(await client.call_tool("list_sources", {}))
        assert sources["ad_hoc"] == {"allowed": False, "hosts": []}
        for tool in ("list_page", "fetch_all"):
            result = await client.call_tool(tool, {"request": {"url": fresh_api.url + "/offset"}})
            text = error_text(result)
            assert "allowed_hosts" in text and "(now: none)" in text
            assert f"127.0.0.1:{fresh_api.port} is not listed" in text
            assert "list_sources" in text  # says what to do instead
    assert fresh_api.stats.requests == 0


async def test_ad_hoc_request_to_an_allowed_host_listed_by_address_works(fresh_api: SampleAPI) -> None:
    config = config_of({}, allowed_hosts=[f"127.0.0.1:{fresh_api.port}"])
    async with connect(config) as client:
        data = structured(
            await client.call_tool(
                "fetch_all",
                {"request": {"url": fresh_api.url + "/offset", "records": "items"}, "fields": ["id"]},
            )
        )
    assert ids(data["records"]) == ALL_IDS  # the refusals below are not "everything refused"
    assert fresh_api.stats.requests > 0


@pytest.mark.parametrize("method", ["DELETE", "delete", "PUT", "PATCH", "TRACE", ""])
async def test_ad_hoc_request_with_a_method_that_may_change_data_is_refused_and_nothing_is_sent(
    method: str,
) -> None:
    """The tools are annotated read-only: an ad-hoc request never sends DELETE, PUT, PATCH…"""
    with Recorder() as recorder:
        async with connect(config_of({}, allowed_hosts=[recorder.netloc])) as client:
            for tool in ("list_page", "fetch_all"):
                request = {"url": recorder.url + "/records", "method": method}
                text = error_text(await client.call_tool(tool, {"request": request}))
                assert "request.method" in text and "GET, POST or QUERY" in text, text
    assert recorder.seen == []


async def test_ad_hoc_request_sends_get_post_and_query_in_any_case() -> None:
    with Recorder() as recorder:
        async with connect(config_of({}, allowed_hosts=[recorder.netloc])) as client:
            for method in ("get", "POST", "query"):
                request = {"url": recorder.url + "/records", "method": method, "body": {"q": 1}}
                data = structured(await client.call_tool("list_page", {"request": request}))
                assert ids(data["records"]) == [1000, 1001]
    assert [seen.method for seen in recorder.seen] == ["GET", "POST", "QUERY"]


async def test_ad_hoc_host_not_listed_or_on_another_port_is_refused(fresh_api: SampleAPI) -> None:
    config = config_of({}, allowed_hosts=["api.example.com", f"127.0.0.1:{fresh_api.port + 1}"])
    async with connect(config) as client:
        result = await client.call_tool("list_page", {"request": {"url": fresh_api.url + "/offset"}})
        text = error_text(result)
        assert "api.example.com" in text and "is not listed" in text
    assert fresh_api.stats.requests == 0


INTERNAL_URLS = [
    "http://10.0.0.1/",
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1/",
    "http://[::1]/",
    "http://[fe80::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://0.0.0.0/",
    "http://2130706433/",
    "http://0x7f.0.0.1/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://localhost/",
]


@pytest.mark.parametrize("url", INTERNAL_URLS)
async def test_internal_destinations_refused_when_only_a_public_host_is_allowed(url: str) -> None:
    async with connect(config_of({}, allowed_hosts=["api.example.com"])) as client:
        text = error_text(await client.call_tool("list_page", {"request": {"url": url}}))
    assert "refusing" in text or "not listed" in text, text
    assert "could not reach" not in text  # refused before any connection, not a failed one


# Names that are not canonical addresses but resolve (offline, via inet_aton or /etc/hosts) to
# loopback: listing them by that name must not let an ad-hoc request reach an internal address.
LOOPBACK_NAMES = ["2130706433", "0x7f.0.0.1", "0177.0.0.1", "127.1"]


@pytest.mark.parametrize("name", LOOPBACK_NAMES)
async def test_allowed_name_that_resolves_to_loopback_is_refused(name: str, fresh_api: SampleAPI) -> None:
    if urlsplit_host(f"http://{name}:{fresh_api.port}/") != name:
        pytest.skip(f"urlsplit does not keep {name!r} as the host")
    config = config_of({}, allowed_hosts=[name])
    async with connect(config) as client:
        url = f"http://{name}:{fresh_api.port}/offset"
        text = error_text(await client.call_tool("list_page", {"request": {"url": url}}))
    assert "internal address 127.0.0.1" in text
    assert "allowed_hosts" in text and "allow_private_networks" in text  # how to allow it on purpose
    assert fresh_api.stats.requests == 0


async def test_hostname_from_etc_hosts_resolving_to_loopback_is_refused(fresh_api: SampleAPI) -> None:
    name = socket.gethostname().lower()
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(name, 80, proto=socket.IPPROTO_TCP)}
    except OSError:
        pytest.skip("this machine's hostname does not resolve offline")
    if not addresses or not all(a.startswith("127.") or a == "::1" for a in addresses) or name == "localhost":
        pytest.skip(f"{name} does not resolve only to loopback here ({addresses})")
    async with connect(config_of({}, allowed_hosts=[name])) as client:
        url = f"http://{name}:{fresh_api.port}/offset"
        text = error_text(await client.call_tool("list_page", {"request": {"url": url}}))
    assert "internal address" in text
    assert fresh_api.stats.requests == 0


async def test_private_network_allowed_only_when_the_operator_says_so(fresh_api: SampleAPI) -> None:
    url = f"http://0x7f.0.0.1:{fresh_api.port}/offset"
    config = config_of({}, allowed_hosts=["0x7f.0.0.1"], allow_private_networks=True)
    async with connect(config) as client:
        data = structured(await client.call_tool("list_page", {"request": {"url": url, "records": "items"}}))
    assert ids(data["records"]) == ALL_IDS[:10]


async def test_localhost_listed_by_name_is_an_explicit_choice(fresh_api: SampleAPI) -> None:
    async with connect(config_of({}, allowed_hosts=[f"localhost:{fresh_api.port}"])) as client:
        url = f"http://localhost:{fresh_api.port}/offset"
        data = structured(await client.call_tool("list_page", {"request": {"url": url, "records": "items"}}))
        # Listing 127.0.0.1 does not let [::ffff:127.0.0.1] or another port through.
        mapped = f"http://[::ffff:127.0.0.1]:{fresh_api.port}/offset"
        text = error_text(await client.call_tool("list_page", {"request": {"url": mapped}}))
    assert ids(data["records"]) == ALL_IDS[:10]
    assert "not listed" in text


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/",
        "gopher://127.0.0.1:70/_GET",
        "dict://127.0.0.1:11211/stats",
        "//127.0.0.1/offset",
        "/offset",
        "http:///offset",
        "http://[::1/",
    ],
)
async def test_non_http_and_malformed_ad_hoc_urls_are_refused(url: str, fresh_api: SampleAPI) -> None:
    # Even with the loopback host listed by address (and private networks allowed).
    config = config_of({}, allowed_hosts=["127.0.0.1", "localhost"], allow_private_networks=True)
    async with connect(config) as client:
        text = error_text(await client.call_tool("list_page", {"request": {"url": url}}))
        assert "http" in text.lower()
        # The server keeps serving.
        ok = await client.call_tool("list_page", {"request": {"url": fresh_api.url + "/offset"}})
    assert structured(ok)["records"]
    assert fresh_api.stats.requests == 1


def urlsplit_host(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# 6. Next-links, Link headers and redirects stay within the origin (or allowed hosts)
# --------------------------------------------------------------------------------------------


def by_next_link(path: str) -> dict[str, Any]:
    return {"mode": "cursor", "next": {"body": path}, "cursor_param": {"in": "url"}}


@pytest.mark.parametrize("style", ["next_url", "link_header", "odata", "hal"])
async def test_next_link_to_another_origin_is_refused_and_never_requested(
    style: str, fresh_api: SampleAPI, other_loopback: SampleAPI
) -> None:
    fresh_api.faults = FaultPlan(evil_next_url=other_loopback.url)
    sources = sample_sources(fresh_api.url)
    sources["odata"] = {"url": fresh_api.url + "/odata", "pagination": by_next_link('"@odata.nextLink"')}
    sources["hal"] = {"url": fresh_api.url + "/hal", "pagination": by_next_link("_links.next.href")}
    async with connect(config_of(sources)) as client:
        data = structured(await client.call_tool("fetch_all", {"source": style}))
        first = structured(await client.call_tool("list_page", {"source": style}))
        onward = (
            await client.call_tool("list_page", {"cursor": first["next_cursor"]})
            if first["next_cursor"]
            else None
        )
    assert data["stop_reason"] == "error" and not data["complete"]
    assert "refusing to follow a link" in data["error"] and "allowed_hosts" in data["error"]
    assert other_loopback.url.removeprefix("http://") in data["error"]
    assert data["count"] > 0  # what was fetched before is kept
    if onward is not None:
        assert "refusing to follow a link" in error_text(onward)
    assert other_loopback.stats.requests == 0


@pytest.mark.parametrize("style", ["auto_next_url", "auto_link", "odata", "hal"])
async def test_auto_detection_never_follows_a_next_link_to_another_origin(
    style: str, fresh_api: SampleAPI, other_loopback: SampleAPI
) -> None:
    fresh_api.faults = FaultPlan(evil_next_url=other_loopback.url)
    sources = sample_sources(fresh_api.url)
    for name in ("odata", "hal"):
        sources[name] = {"url": f"{fresh_api.url}/{name}", "pagination": {"mode": "auto"}}
    async with connect(config_of(sources)) as client:
        data = structured(await client.call_tool("fetch_all", {"source": style}))
    assert other_loopback.stats.requests == 0
    assert data["count"] > 0


async def test_auto_detection_says_so_when_it_refuses_an_off_origin_next_link(
    fresh_api: SampleAPI, other_loopback: SampleAPI
) -> None:
    fresh_api.faults = FaultPlan(evil_next_url=other_loopback.url)
    sources = {"odata": {"url": fresh_api.url + "/odata", "pagination": {"mode": "auto"}}}
    async with connect(config_of(sources)) as client:
        data = structured(await client.call_tool("fetch_all", {"source": "odata"}))
    assert other_loopback.stats.requests == 0
    said = " ".join(data["notes"]) + (data["error"] or "")
    assert not data["complete"] or data["count"] == len(ALL_IDS), data
    assert other_loopback.url.removeprefix("http://") in said or "refus" in said, data


async def test_next_link_to_an_allowed_host_carries_no_credentials(
    fresh_api: SampleAPI, other_loopback: SampleAPI
) -> None:
    with SampleAPI(api_key=SAMPLE_KEY) as home:
        home.faults = FaultPlan(evil_next_url=other_loopback.url)
        sources = {
            "next_url": {
                "url": home.url + "/next-url",
                "query": {"limit": "20"},
                "headers": {"Authorization": "Bearer ${SAMPLE_KEY}"},
                "pagination": {"mode": "cursor", "next": {"body": "next"}, "cursor_param": {"in": "url"}},
            }
        }
        config = config_of(sources, allowed_hosts=[f"127.0.0.2:{other_loopback.port}"])
        async with connect(config) as client:
            data = structured(await client.call_tool("fetch_all", {"source": "next_url"}))
        assert home.stats.authorizations and set(home.stats.authorizations) == {f"Bearer {SAMPLE_KEY}"}
    assert data["complete"], data
    assert other_loopback.stats.requests > 0
    assert other_loopback.stats.authorizations == []


async def test_next_link_to_an_allowed_host_drops_every_credential_header(fresh_api: SampleAPI) -> None:
    with Recorder("127.0.0.2") as evil:
        fresh_api.faults = FaultPlan(evil_next_url=evil.url)
        sources = {
            "link": {
                "url": fresh_api.url + "/link",
                "headers": SECRET_HEADERS,
                "pagination": {"mode": "cursor", "next": {"link": "next"}, "cursor_param": {"in": "url"}},
            }
        }
        async with connect(config_of(sources, allowed_hosts=[evil.netloc])) as client:
            data = structured(await client.call_tool("fetch_all", {"source": "link"}))
    assert ids(data["records"]) == [*ALL_IDS[:10], 1000, 1001]
    assert len(evil.seen) == 1
    headers = evil.seen[0].headers
    assert not CREDENTIAL_NAMES & set(headers), headers
    assert headers.get("x-trace") == "trace-1"
    assert_no_secret(json.dumps(headers), "the request to the other origin")


async def test_next_link_to_an_allowed_host_carrying_a_query_key_is_refused_and_the_page_kept(
    fresh_api: SampleAPI,
) -> None:
    with Recorder("127.0.0.2") as evil:
        fresh_api.faults = FaultPlan(evil_next_url=evil.url)  # path and query kept: the key too
        source = {**LINK_WITH_KEY, "url": fresh_api.url + "/link"}
        async with connect(config_of({"link": source}, allowed_hosts=[evil.netloc])) as client:
            data = structured(await client.call_tool("fetch_all", {"source": "link"}))
            again = await client.call_tool("list_page", {"cursor": data["next_cursor"]})
    assert evil.seen == []
    assert data["stop_reason"] == "error" and ids(data["records"]) == ALL_IDS[:10]
    assert "refusing" in data["error"] and evil.netloc in data["error"] and "URL" in data["error"]
    assert "refusing" in error_text(again)  # the cursor still reads that page, and still refuses
    assert_no_secret(all_text(again) + json.dumps(data), "the refusal")


@pytest.mark.parametrize("token", ["${BODY_SECRET}", "not-a-secret"])
async def test_next_link_to_an_allowed_host_never_carries_a_secret_in_a_post_body(token: str) -> None:
    with Recorder() as home, Recorder("127.0.0.2") as mirror:
        source = {
            "url": home.url + "/records",
            "method": "POST",
            "query": {"next": mirror.url + "/records"},
            "body": {"auth": {"token": token}, "q": "x"},
            "pagination": {"mode": "cursor", "next": {"body": "next"}, "cursor_param": {"in": "url"}},
        }
        async with connect(config_of({"search": source}, allowed_hosts=[mirror.netloc])) as client:
            data = structured(await client.call_tool("fetch_all", {"source": "search"}))
    assert len(home.seen) == 1
    if token == "not-a-secret":  # a body without secrets may go: only credentials stay home
        assert data["complete"] and len(mirror.seen) == 1 and data["count"] == 4
        return
    assert BODY_SECRET.encode() in home.seen[0].body
    assert mirror.seen == []
    assert data["stop_reason"] == "error" and data["count"] == 2 and data["next_cursor"]
    assert "refusing" in data["error"] and "body" in data["error"]
    assert_no_secret(json.dumps(data), "the refusal")


async def test_redirect_to_an_allowed_host_carrying_a_key_in_its_url_is_refused() -> None:
    with Recorder() as start, Recorder("127.0.0.2") as evil:
        source = redirect_source(start, 302, evil.url + "/x?api_key=${QUERY_SECRET}")
        async with connect(config_of({"redirect": source}, allowed_hosts=[evil.netloc])) as client:
            failed = error_text(await client.call_tool("list_page", {"source": "redirect"}))
    assert evil.seen == []
    assert "refusing" in failed and evil.netloc in failed
    assert_no_secret(failed, "the refusal")


def redirect_source(start: Recorder, code: int, target: str, *, method: str = "GET") -> dict[str, Any]:
    source: dict[str, Any] = {
        "url": f"{start.url}/redirect/{code}",
        "method": method,
        "headers": SECRET_HEADERS,
        "query": {"to": target},
        "pagination": {"mode": "none"},
    }
    if method == "POST":
        source["body"] = {"q": "x", "token": "${BODY_SECRET}"}
    return source


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
async def test_redirect_to_a_host_not_allowed_is_refused(code: int) -> None:
    with Recorder() as home, Recorder("127.0.0.2") as elsewhere:
        sources = {"r": redirect_source(home, code, elsewhere.url + "/records")}
        async with connect(config_of(sources)) as client:
            text = error_text(await client.call_tool("list_page", {"source": "r"}))
    assert "refusing to follow a link" in text and elsewhere.netloc in text
    assert elsewhere.seen == []
    assert_no_secret(text, "the redirect error")


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
async def test_redirect_to_an_allowed_host_drops_credentials(code: int) -> None:
    with Recorder() as home, Recorder("127.0.0.2") as elsewhere:
        sources = {"r": redirect_source(home, code, elsewhere.url + "/records")}
        async with connect(config_of(sources, allowed_hosts=[elsewhere.netloc])) as client:
            data = structured(await client.call_tool("list_page", {"source": "r"}))
    assert ids(data["records"]) == [1000, 1001]
    assert set(home.seen[0].headers) >= CREDENTIAL_NAMES  # sent at home...
    (arrived,) = elsewhere.seen
    assert not CREDENTIAL_NAMES & set(arrived.headers), arrived.headers  # ...never elsewhere
    assert arrived.headers.get("x-trace") == "trace-1"


@pytest.mark.parametrize("code", [307, 308])
async def test_body_preserving_redirect_of_a_post_never_resends_the_body_elsewhere(code: int) -> None:
    with Recorder() as home, Recorder("127.0.0.2") as elsewhere:
        sources = {"r": redirect_source(home, code, elsewhere.url + "/records", method="POST")}
        async with connect(config_of(sources, allowed_hosts=[elsewhere.netloc])) as client:
            text = error_text(await client.call_tool("list_page", {"source": "r"}))
    assert "refusing to send the request body" in text
    assert home.seen[0].method == "POST" and BODY_SECRET.encode() in home.seen[0].body
    assert elsewhere.seen == []
    assert_no_secret(text, "the redirect error")


@pytest.mark.parametrize("code", [301, 302, 303])
async def test_post_redirected_with_a_method_change_arrives_as_get_without_body_or_credentials(
    code: int,
) -> None:
    with Recorder() as home, Recorder("127.0.0.2") as elsewhere:
        sources = {"r": redirect_source(home, code, elsewhere.url + "/records", method="POST")}
        async with connect(config_of(sources, allowed_hosts=[elsewhere.netloc])) as client:
            data = structured(await client.call_tool("list_page", {"source": "r"}))
    assert ids(data["records"]) == [1000, 1001]
    (arrived,) = elsewhere.seen
    assert arrived.method == "GET" and arrived.body == b""
    assert not CREDENTIAL_NAMES & set(arrived.headers)


async def test_same_origin_redirect_keeps_credentials_and_body() -> None:
    with Recorder() as home:
        sources = {"r": redirect_source(home, 307, home.url + "/records", method="POST")}
        async with connect(config_of(sources)) as client:
            data = structured(await client.call_tool("list_page", {"source": "r"}))
    assert ids(data["records"]) == [1000, 1001]
    landed = home.seen[1]
    assert landed.path == "/records" and landed.method == "POST"
    assert set(landed.headers) >= CREDENTIAL_NAMES
    assert json.loads(landed.body) == {"q": "x", "token": BODY_SECRET}


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]:{port}/records",
        "file:///etc/passwd",
    ],
)
async def test_ad_hoc_redirect_to_internal_or_non_http_target_is_refused(target: str) -> None:
    with Recorder() as home, Recorder() as internal:
        target = target.format(port=internal.port)
        config = config_of({}, allowed_hosts=[home.netloc])
        async with connect(config) as client:
            request = {"url": f"{home.url}/redirect/302", "query": {"to": target}}
            text = error_text(await client.call_tool("list_page", {"request": request}))
    assert "refusing" in text and "could not reach" not in text
    assert internal.seen == []


async def test_ad_hoc_redirect_to_an_allowed_name_resolving_to_loopback_is_refused() -> None:
    with Recorder() as home, Recorder() as internal:
        config = config_of({}, allowed_hosts=[home.netloc, "2130706433"])
        async with connect(config) as client:
            target = f"http://2130706433:{internal.port}/records"
            request = {"url": f"{home.url}/redirect/302", "query": {"to": target}}
            text = error_text(await client.call_tool("list_page", {"request": request}))
    assert "internal address 127.0.0.1" in text
    assert internal.seen == []


# --------------------------------------------------------------------------------------------
# 8. Secrets never shown: results, errors, resources, notes, logs, stores
# --------------------------------------------------------------------------------------------


def secret_sources(sample: SampleAPI, alloy: SampleAPI, recorder: Recorder) -> dict[str, Any]:
    query = {"api_key": "${QUERY_SECRET}"}
    return {
        "offset_secret": {
            "description": "Offset records behind several secrets",
            "url": sample.url + "/offset",
            "headers": SECRET_HEADERS,
            "query": query,
            "records": "items",
            "max_page_size": 100,
            "pagination": {"mode": "offset", "total": "total", "page_size": 100},
        },
        "alloy_ok": {
            "preset": "alloy",
            "base_url": alloy.url,
            "connector": "hubspot",
            "action": "listContacts",
        },
        "alloy_401": {
            "preset": "alloy",
            "base_url": sample.url,
            "connector": "hubspot",
            "action": "listContacts",
        },
        "wrong_key": {
            "url": sample.url + "/offset",
            "headers": {"Authorization": "Bearer ${HEADER_SECRET}"},
            "query": query,
            "records": "items",
            "pagination": {"mode": "offset", "total": "total"},
        },
        "post_body": {
            "url": recorder.url + "/records",
            "method": "POST",
            "headers": SECRET_HEADERS,
            "query": query,
            "body": {"token": "${BODY_SECRET}", "nested": {"key": "${HEADER_SECRET}"}},
            "pagination": {"mode": "none"},
        },
        "echo_400": {
            "url": recorder.url + "/echo/400",
            "headers": SECRET_HEADERS,
            "query": query,
            "pagination": {"mode": "none"},
        },
        "echo_401": {
            "url": recorder.url + "/echo/401",
            "method": "POST",
            "headers": SECRET_HEADERS,
            "query": query,
            "body": {"token": "${BODY_SECRET}"},
            "pagination": {"mode": "none"},
        },
        "bad_template": {
            "url": sample.url + "/offset",
            "headers": SECRET_HEADERS,
            "query": query,
            "records": "items",
            "pagination": {
                "mode": "offset",
                "offset_param": {"in": "query", "name": "offset", "template": "{{ offset + 'x' }}"},
            },
        },
        "evil_next": {
            "url": sample.url + "/next-url",
            "headers": SECRET_HEADERS,
            "pagination": {"mode": "cursor", "next": {"body": "next"}, "cursor_param": {"in": "url"}},
        },
    }


async def exercise(client: Client, evil_url: str) -> list[tuple[str, str]]:
    """Every kind of call, success and failure; returns (what, text shown) for each."""
    shown: list[tuple[str, str]] = []
    alloy = {"connector": "hubspot", "action": "listContacts"}

    async def call(tool: str, args: dict[str, Any]) -> Any:
        result = await client.call_tool(tool, args)
        shown.append((f"{tool} {args}", all_text(result)))
        return result

    shown.append(("list_sources", all_text(await client.call_tool("list_sources", {}))))
    page = structured(await call("list_page", {"source": "offset_secret", "page_size": 500}))
    assert page["records"] and any("cap" in note for note in page["notes"])
    structured(await call("list_page", {"cursor": page["next_cursor"]}))
    drained = structured(await call("fetch_all", {"source": "offset_secret"}))
    assert drained["complete"] and drained["count"] == len(ALL_IDS)
    for uri in (drained["results_uri"], drained["results_uri"] + "/0"):
        contents = (await client.read_resource(uri)).contents
        shown.append((uri, " ".join(getattr(c, "text", "") for c in contents)))
    alloy_all = structured(await call("fetch_all", {"source": "alloy_ok", "params": alloy}))
    assert alloy_all["count"] == len(ALL_IDS)
    structured(await call("fetch_all", {"source": "post_body"}))
    for name in ("alloy_401", "wrong_key", "echo_400", "echo_401", "bad_template"):
        params = alloy if name.startswith("alloy") else {}
        error_text(await call("list_page", {"source": name, "params": params}))
        stopped = structured(await call("fetch_all", {"source": name, "params": params}))
        assert stopped["stop_reason"] == "error" and stopped["error"]
    stopped = structured(await call("fetch_all", {"source": "evil_next"}))
    assert "refusing to follow a link" in stopped["error"]
    # An ad-hoc request carrying a key, to a host that is not allowed, and with bad pagination.
    request = {"url": evil_url + "/x", "headers": {"Authorization": f"Bearer {SAMPLE_KEY}"}}
    error_text(await call("list_page", {"request": request}))
    error_text(await call("list_page", {"source": "offset_secret", "params": {"x": HEADER_SECRET}}))
    error_text(await call("list_page", {"cursor": f"{SAMPLE_KEY}.0"}))
    try:
        await client.read_resource("mcp-paginate://results/" + "A" * 24)
    except MCPError as exc:
        shown.append(("read_resource unknown", str(exc)))
    return shown


@asynccontextmanager
async def secret_world() -> AsyncIterator[tuple[SampleAPI, Recorder, Recorder, dict[str, Any]]]:
    with (
        SampleAPI(api_key=SAMPLE_KEY) as sample,
        SampleAPI(api_key=ALLOY_KEY) as alloy,
        Recorder() as recorder,
        Recorder("127.0.0.2") as evil,
    ):
        sample.faults = FaultPlan(evil_next_url=evil.url)  # only the next-url style uses it
        yield sample, recorder, evil, secret_sources(sample, alloy, recorder)


async def test_secrets_never_appear_in_results_errors_resources_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with secret_world() as (sample, recorder, evil, sources):
        async with connect(config_of(sources)) as client:
            shown = await exercise(client, evil.url)
        # The secrets did reach the upstreams (so their absence above means something).
        assert f"Bearer {SAMPLE_KEY}" in sample.stats.authorizations
        sent = [s for s in recorder.seen if s.path == "/records"][0]
        assert sent.headers["x-api-key"] == HEADER_SECRET and sent.query["api_key"] == QUERY_SECRET
        assert BODY_SECRET.encode() in sent.body
    assert len(shown) > 20
    for what, text in shown:
        assert_no_secret(text, what)
    echoed = [text for what, text in shown if "echo_" in what]
    assert echoed and all("bad key [REDACTED]" in text for text in echoed), echoed
    assert all("query [REDACTED]" in text for text in echoed)
    assert caplog.records, "nothing was logged at DEBUG; the log check would prove nothing"
    assert_no_secret(caplog.text, "the log")
    assert_no_secret(
        "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records), "log records"
    )


def store_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))


async def test_secrets_never_reach_the_sqlite_store(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    async with (
        secret_world() as (_, _, evil, sources),
        connect(config_of(sources), f"sqlite:///{db}") as client,
    ):
        await exercise(client, evil.url)
    raw = store_bytes(db)
    assert b"offset_secret" in raw and b"1001" in raw  # sessions and results are in there
    leaked = [s for s in SECRETS if s.encode() in raw]
    assert not leaked, f"the sqlite store holds {leaked}"


@pytest.mark.redis
async def test_secrets_never_reach_the_redis_store(redis_url: str) -> None:  # noqa: F811
    async with secret_world() as (_, _, evil, sources), connect(config_of(sources), redis_url) as client:
        await exercise(client, evil.url)
    dumped: list[bytes] = []
    with redis.Redis.from_url(redis_url) as db:
        for key in db.scan_iter(count=1000):
            dumped.append(key)
            kind = db.type(key)
            if kind == b"string":
                dumped.append(db.get(key) or b"")
            elif kind == b"hash":
                dumped.extend(k + b"=" + v for k, v in db.hgetall(key).items())
            elif kind == b"zset":
                dumped.extend(member for member, _ in db.zrange(key, 0, -1, withscores=True))
            elif kind == b"list":
                dumped.extend(db.lrange(key, 0, -1))
            elif kind == b"set":
                dumped.extend(db.smembers(key))
    raw = b"\n".join(dumped)
    assert b"offset_secret" in raw
    leaked = [s for s in SECRETS if s.encode() in raw]
    assert not leaked, f"the redis store holds {leaked}"


LINK_WITH_KEY = {
    "url": "{url}/link",
    "query": {"api_key": "${QUERY_SECRET}"},
    "pagination": {"mode": "cursor", "next": {"link": "next"}, "cursor_param": {"in": "url"}},
}


async def test_a_query_key_echoed_into_next_links_is_not_shown(sample_api: SampleAPI) -> None:
    source = {**LINK_WITH_KEY, "url": sample_api.url + "/link"}
    async with connect(config_of({"link": source})) as client:
        first = structured(await client.call_tool("list_page", {"source": "link"}))
        second = await client.call_tool("list_page", {"cursor": first["next_cursor"]})
    assert ids(structured(second)["records"]) == ALL_IDS[10:20]
    assert_no_secret(all_text(second), "list_page after a next-link")


async def test_a_query_key_echoed_into_next_links_is_not_stored(
    sample_api: SampleAPI, tmp_path: Path
) -> None:
    source = {**LINK_WITH_KEY, "url": sample_api.url + "/link"}
    db = tmp_path / "state.db"
    async with connect(config_of({"link": source}), f"sqlite:///{db}") as client:
        structured(await client.call_tool("fetch_all", {"source": "link", "max_records": 30}))
    assert QUERY_SECRET.encode() not in store_bytes(db)


@pytest.mark.parametrize("into_the_key", [4, 10, len(SAMPLE_KEY) - 1])
async def test_an_error_message_trimmed_through_an_echoed_key_shows_none_of_it(into_the_key: int) -> None:
    echoed = "bad key None; auth Bearer "  # what /echo says before the key
    pad = 300 - len(echoed) - into_the_key  # the upstream message is trimmed at 300 characters
    with Recorder() as recorder:
        source = {
            "url": recorder.url + "/echo/401",
            "headers": {"Authorization": "Bearer ${SAMPLE_KEY}"},
            "query": {"pad": str(pad)},
            "pagination": {"mode": "none"},
        }
        async with connect(config_of({"echo": source})) as client:
            failed = error_text(await client.call_tool("list_page", {"source": "echo"}))
            stopped = structured(await client.call_tool("fetch_all", {"source": "echo"}))
    for shown in (failed, stopped["error"] or ""):
        assert "x" * pad + echoed + "[REDACTED]" in shown, shown
        assert SAMPLE_KEY[:4] not in shown.replace("x" * pad, ""), shown


async def test_a_key_echoed_percent_encoded_in_an_error_is_masked_everywhere(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with Recorder() as recorder:
        source = {
            "url": recorder.url + "/echo-line/400",
            "query": {"api_key": "${PLUS_SECRET}"},
            "pagination": {"mode": "none"},
        }
        async with connect(config_of({"echo": source})) as client:
            failed = error_text(await client.call_tool("list_page", {"source": "echo"}))
            stopped = structured(await client.call_tool("fetch_all", {"source": "echo"}))
        assert recorder.seen and recorder.seen[0].query["api_key"] == PLUS_SECRET  # it was sent, encoded
    assert "api_key=[REDACTED]" in failed and "api_key=[REDACTED]" in (stopped["error"] or "")
    assert_no_secret_form(failed, "the list_page error")
    assert_no_secret_form(json.dumps(stopped), "the fetch_all result")
    assert_no_secret_form(caplog.text, "the log")


async def test_a_key_echoed_into_next_links_with_lower_case_hex_is_neither_shown_nor_stored(
    tmp_path: Path,
) -> None:
    db = tmp_path / "state.db"
    with Recorder() as recorder:
        source = {
            "url": recorder.url + "/lower-hex",
            "query": {"api_key": "${PLUS_SECRET}"},
            "pagination": {"mode": "cursor", "next": {"body": "next"}, "cursor_param": {"in": "url"}},
        }
        async with connect(config_of({"lower": source}), f"sqlite:///{db}") as client:
            first = structured(await client.call_tool("list_page", {"source": "lower"}))
            second = await client.call_tool("list_page", {"cursor": first["next_cursor"]})
        assert [seen.query["api_key"] for seen in recorder.seen] == [PLUS_SECRET, PLUS_SECRET]
    assert ids(structured(second)["records"]) == [2]
    assert "{secret:PLUS_SECRET:url}" in structured(second)["page"]["request"]["cursor"]
    assert_no_secret_form(all_text(second), "list_page after a lower-case-hex next link")
    raw = store_bytes(db).decode("utf-8", "replace")
    assert_no_secret_form(raw, "the sqlite store")


async def test_a_key_an_upstream_echoes_inside_records_is_masked_in_results_and_resources() -> None:
    with Recorder() as recorder:
        source = {
            "url": recorder.url + "/echo-records",
            "headers": {"Authorization": "Bearer ${SAMPLE_KEY}"},
            "query": {"api_key": "${PLUS_SECRET}"},
            "pagination": {"mode": "none"},
        }
        async with connect(config_of({"echo": source})) as client:
            page = await client.call_tool("list_page", {"source": "echo"})
            drained = structured(await client.call_tool("fetch_all", {"source": "echo"}))
            shown = [all_text(page), json.dumps(drained)]
            for uri in (drained["results_uri"], drained["results_uri"] + "/0"):
                contents = (await client.read_resource(uri)).contents
                shown.append(" ".join(getattr(content, "text", "") for content in contents))
    records = structured(page)["records"]
    assert records[0]["auth"] == "Bearer [REDACTED]" and "api_key=[REDACTED]" in records[0]["url"]
    assert records[1] == {"id": 2, "name": "plain"}
    for text in shown:
        assert_no_secret(text, "records echoing the request")
        assert_no_secret_form(text, "records echoing the request")


async def test_secrets_never_appear_on_the_stdio_servers_stderr(tmp_path: Path) -> None:
    async with secret_world() as (sample, recorder, evil, sources):
        config = tmp_path / "config.toml"
        config.write_text(toml_config(sources, allowed_hosts=[]), encoding="utf-8")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "MCP_PAGINATE_CONFIG": "",
            "MCP_PAGINATE_STORE": "",
            "ALLOY_BASE_URL": "",
            "COLUMNS": "400",
            **ENV,
        }
        parameters = StdioServerParameters(
            command=sys.executable,
            args=[
                "-m",
                "mcp_paginate",
                "serve",
                "--config",
                str(config),
                "--store",
                f"sqlite:///{tmp_path}/s.db",
            ],
            env=env,
            cwd=str(tmp_path),
        )
        stderr_path = tmp_path / "stderr.txt"
        with anyio.fail_after(60), stderr_path.open("w") as stderr:
            async with Client(stdio_client(parameters, errlog=stderr)) as client:
                shown = await exercise(client, evil.url)
    for what, text in shown:
        assert_no_secret(text, f"stdio {what}")
    logged = stderr_path.read_text(errors="replace")
    assert "[REDACTED]" in logged  # the echoed keys were logged (masked): the check below has teeth
    assert_no_secret(logged, "the stdio server's stderr")
    assert_no_secret("".join(logged.split()), "the stdio server's stderr, unwrapped")


def toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def toml_config(sources: dict[str, Any], **server: Any) -> str:
    lines = ["[server]", *(f"{k} = {toml_value(v)}" for k, v in {**FAST, **server}.items()), "", "[sources]"]
    lines += [f"{json.dumps(name)} = {toml_value(table)}" for name, table in sources.items()]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# 7. Cursors: forged, garbage, expired, another session's, another server's
# --------------------------------------------------------------------------------------------

GARBAGE_CURSORS = [
    "",
    "   ",
    "not-a-cursor",
    "🙂🙃" * 10,
    "x" * 10_000,
    "A" * 24 + "." + "9" * 10,
    "A" * 24 + ".-1",
    "../../etc/passwd",
    "' OR 1=1 --",
    "%00",
    "\x00\x01",
    "mcp-paginate://results/abc",
]


async def test_garbage_cursors_are_clear_errors_and_the_server_keeps_serving(client: Client) -> None:
    for cursor in GARBAGE_CURSORS:
        for tool in ("list_page", "fetch_all"):
            text = error_text(await client.call_tool(tool, {"cursor": cursor}))
            assert "cursor" in text and ("not one this server minted" in text or "expired" in text), (
                cursor[:40],
                text,
            )
            assert len(text) < 1000  # the 10k cursor is not echoed back
    assert structured(await client.call_tool("list_page", {"source": "offset_total"}))["records"]


async def test_forged_cursors_of_a_valid_shape_are_refused(client: Client) -> None:
    page = structured(await client.call_tool("list_page", {"source": "offset_total"}))
    session = page["cursor"].split(".")[0]
    forged = [
        secrets.token_urlsafe(18) + ".0",  # the right shape, a session that does not exist
        secrets.token_urlsafe(18) + ".1.5",
        session[:-1] + ("A" if session[-1] != "A" else "B") + ".0",  # one character off
    ]
    for cursor in forged:
        text = error_text(await client.call_tool("list_page", {"cursor": cursor}))
        assert "expired or is unknown" in text and "start again" in text
    # A real session, a page it has not reached.
    text = error_text(await client.call_tool("list_page", {"cursor": f"{session}.42"}))
    assert "has not been reached" in text
    again = structured(await client.call_tool("list_page", {"cursor": page["cursor"]}))
    assert again["records"] == page["records"]


async def test_cursor_with_a_new_source_or_page_size_is_an_error(client: Client) -> None:
    page = structured(await client.call_tool("list_page", {"source": "offset_total"}))
    text = error_text(
        await client.call_tool("list_page", {"cursor": page["next_cursor"], "source": "body_token"})
    )
    assert "not both" in text
    text = error_text(await client.call_tool("list_page", {"cursor": page["next_cursor"], "page_size": 5}))
    assert "page_size is fixed" in text


async def test_a_cursor_from_another_server_store_is_unknown_here(sample_api: SampleAPI) -> None:
    config = config_of(sample_sources(sample_api.url))
    async with connect(config) as first:
        page = structured(await first.call_tool("list_page", {"source": "offset_total"}))
    async with connect(config) as second:  # its own memory store
        text = error_text(await second.call_tool("list_page", {"cursor": page["next_cursor"]}))
        assert "expired or is unknown" in text
        assert structured(await second.call_tool("list_page", {"source": "offset_total"}))["records"]


@pytest.mark.parametrize("store", ["memory", "sqlite"])
async def test_expired_cursors_and_results_are_refused_and_purged(
    store: str, sample_api: SampleAPI, tmp_path: Path
) -> None:
    db = tmp_path / "state.db"
    store_url = "memory://" if store == "memory" else f"sqlite:///{db}"
    config = config_of(sample_sources(sample_api.url), session_ttl_seconds=1)
    async with connect(config, store_url) as client:
        page = structured(await client.call_tool("list_page", {"source": "offset_total"}))
        data = structured(await client.call_tool("fetch_all", {"source": "pages_total", "max_records": 30}))
        await anyio.sleep(1.3)  # past the 1 s time to live (not a timing assertion)
        for cursor in (page["cursor"], page["next_cursor"]):
            text = error_text(await client.call_tool("list_page", {"cursor": cursor}))
            assert "expired" in text and "start again" in text
        text = error_text(await client.call_tool("fetch_all", {"cursor": data["next_cursor"]}))
        assert "expired" in text
        with pytest.raises(MCPError, match="expired"):
            await client.read_resource(data["results_uri"])
        fresh = structured(await client.call_tool("list_page", {"source": "offset_total"}))
        assert fresh["records"] == page["records"]
    if store == "sqlite":
        # A restart purges expired rows: nothing of the expired sessions or results remains.
        async with connect(config, store_url) as client:
            structured(await client.call_tool("list_sources", {}))
        with sqlite3.connect(db) as raw:
            expired = page["cursor"].split(".")[0]
            for table, column in (("sessions", "id"), ("pages", "session_id")):
                (count,) = raw.execute(
                    f"SELECT count(*) FROM {table} WHERE {column} = ?", (expired,)
                ).fetchone()
                assert count == 0, table
            results_id = data["results_uri"].rsplit("/", 1)[1]
            for table, column in (("results", "id"), ("chunks", "results_id")):
                (count,) = raw.execute(
                    f"SELECT count(*) FROM {table} WHERE {column} = ?", (results_id,)
                ).fetchone()
                assert count == 0, table


# --------------------------------------------------------------------------------------------
# 9 (part). Bounded resources
# --------------------------------------------------------------------------------------------


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


async def test_a_huge_response_is_refused_at_the_size_cap_without_reading_it_all(
    fresh_api: SampleAPI,
) -> None:
    size = 200_000_000
    fresh_api.faults = FaultPlan(huge_body_bytes=size)
    cap = 2_000_000
    sources = {"huge": {"url": fresh_api.url + "/offset", "pagination": {"mode": "none"}}}
    before = peak_rss_bytes()
    async with connect(config_of(sources, max_response_bytes=cap, retries=3)) as client:
        text = error_text(await client.call_tool("list_page", {"source": "huge"}))
        data = structured(await client.call_tool("fetch_all", {"source": "huge"}))
    grown = peak_rss_bytes() - before
    assert f"exceeded the {cap:,}-byte limit" in text and "max_response_bytes" in text
    assert "page_size" in text  # what to do
    assert data["stop_reason"] == "error" and "byte limit" in data["error"]
    assert fresh_api.stats.requests == 2  # not retried: the same answer would come back
    assert grown < 100_000_000, f"peak memory grew by {grown:,} bytes for a {size:,}-byte body"


async def test_the_default_size_cap_is_what_the_config_promises(fresh_api: SampleAPI) -> None:
    default = config_of({}).server.max_response_bytes
    fresh_api.faults = FaultPlan(huge_body_bytes=default + 1)
    sources = {"huge": {"url": fresh_api.url + "/offset", "pagination": {"mode": "none"}}}
    async with connect(config_of(sources)) as client:
        text = error_text(await client.call_tool("list_page", {"source": "huge"}))
        fresh_api.faults = FaultPlan(huge_body_bytes=200_000)  # well under: read in full
        big = await client.call_tool("list_page", {"source": "huge"})
    assert f"exceeded the {default:,}-byte limit" in text
    assert "byte limit" not in all_text(big)  # under the cap, the body is read (and judged on its shape)


@pytest.mark.parametrize("store", ["memory", "sqlite"])
async def test_sessions_held_are_bounded_by_max_sessions(
    store: str, sample_api: SampleAPI, tmp_path: Path
) -> None:
    store_url = "memory://" if store == "memory" else f"sqlite:///{tmp_path}/s.db"
    config = config_of(sample_sources(sample_api.url), max_sessions=3)
    async with connect(config, store_url) as client:
        pages = []
        for _ in range(5):
            pages.append(structured(await client.call_tool("list_page", {"source": "offset_total"})))
            await anyio.sleep(0.01)  # distinct creation times, so "oldest" is well defined
        for old in pages[:2]:
            text = error_text(await client.call_tool("list_page", {"cursor": old["next_cursor"]}))
            assert "expired or is unknown" in text
        for kept in pages[2:]:
            following = structured(await client.call_tool("list_page", {"cursor": kept["next_cursor"]}))
            assert ids(following["records"]) == ALL_IDS[40:80]
    if store == "sqlite":
        with sqlite3.connect(tmp_path / "s.db") as raw:
            (count,) = raw.execute("SELECT count(*) FROM sessions").fetchone()
        assert count <= 3


@pytest.mark.parametrize("store", ["memory", "sqlite"])
async def test_results_stored_are_bounded_by_max_stored_results(
    store: str, sample_api: SampleAPI, tmp_path: Path
) -> None:
    store_url = "memory://" if store == "memory" else f"sqlite:///{tmp_path}/s.db"
    config = config_of(sample_sources(sample_api.url), max_stored_results=2)
    async with connect(config, store_url) as client:
        uris = []
        for _ in range(4):
            data = structured(
                await client.call_tool("fetch_all", {"source": "pages_total", "max_records": 30})
            )
            uris.append(data["results_uri"])
            await anyio.sleep(0.01)
        for uri in uris[:2]:
            with pytest.raises(MCPError, match="expired"):
                await client.read_resource(uri)
        for uri in uris[2:]:
            stored = json.loads((await client.read_resource(uri)).contents[0].text)  # type: ignore[union-attr]
            assert ids(stored["records"]) == ALL_IDS[:30]


async def test_fetch_all_never_exceeds_the_server_ceilings(sample_api: SampleAPI) -> None:
    async with connect(config_of(sample_sources(sample_api.url), max_records=45)) as client:
        records = structured(
            await client.call_tool("fetch_all", {"source": "offset_total", "max_records": 10_000})
        )
    async with connect(config_of(sample_sources(sample_api.url), max_pages=3)) as client:
        pages = structured(await client.call_tool("fetch_all", {"source": "pages_total", "max_pages": 999}))
    assert records["count"] == 45 and records["stop_reason"] == "max_records"
    assert any("ceiling of 45" in note for note in records["notes"])
    assert pages["pages"] == 3 and pages["stop_reason"] == "max_pages"


# --------------------------------------------------------------------------------------------
# 9. The HTTP transport: loopback by default, bearer tokens, cursors bound to the caller
# --------------------------------------------------------------------------------------------

TOKEN_A = "token-alpha-51c2a9"
TOKEN_B = "token-bravo-0de7f4"


@dataclass
class HttpServer:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    """``mcp-paginate serve --transport http`` with two accepted tokens and no --host (the default)."""
    directory = tmp_path_factory.mktemp("http")
    with SampleAPI(api_key=SAMPLE_KEY) as api:
        sources = {
            name: {**table, "headers": {"Authorization": "Bearer ${SAMPLE_KEY}"}}
            for name, table in sample_sources(api.url).items()
            if name in ("offset_total", "body_token")
        }
        config = directory / "config.toml"
        config.write_text(toml_config(sources), encoding="utf-8")
        port = free_port()
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("MCP_PAGINATE_", "ALLOY_"))}
        environment |= {"MCP_PAGINATE_AUTH_TOKEN": f"{TOKEN_A},{TOKEN_B}", "SAMPLE_KEY": SAMPLE_KEY}
        log = directory / "server.log"
        command = [sys.executable, "-m", "mcp_paginate", "serve", "--transport", "http", "--port", str(port),
                   "--config", str(config), "--store", f"sqlite:///{directory}/s.db"]  # fmt: skip
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=environment
            )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):  # bounded: about 30 s
                if process.poll() is not None:
                    raise RuntimeError(f"the HTTP server exited:\n{log.read_text(errors='replace')}")
                try:
                    if httpx2.get(url + "/health", timeout=2).status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                time.sleep(0.05)  # polling a child process's readiness
            else:
                raise RuntimeError("the HTTP server did not answer /health")
            yield HttpServer(url=url, port=port, process=process, log=log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


@asynccontextmanager
async def http_client(server: HttpServer, token: str) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0)) as http,
        Client(streamable_http_client(server.url + "/mcp", http_client=http)) as client,
    ):
        yield client


def test_http_server_binds_loopback_only_by_default(http_server: HttpServer) -> None:
    with socket.create_connection(("127.0.0.1", http_server.port), timeout=5):
        pass
    other_addresses = {"127.0.0.2"}
    with suppress(OSError):
        other_addresses |= {
            str(info[4][0])
            for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
            if not str(info[4][0]).startswith("127.")
        }
    for probe in ("192.0.2.1", "10.255.255.255"):  # the address an outbound route would use
        with suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.connect((probe, 9))  # no packet is sent
            address = str(udp.getsockname()[0])
            if not address.startswith(("127.", "0.")):
                other_addresses.add(address)
    for address in sorted(other_addresses):
        with pytest.raises(OSError), socket.create_connection((address, http_server.port), timeout=5):
            pass


def test_http_requires_the_bearer_token_but_health_is_open(http_server: HttpServer) -> None:
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/list",
        "params": {},
    }
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    for auth in (
        None,
        "Bearer wrong-token",
        f"Basic {TOKEN_A}",
        f"Bearer {TOKEN_A}x",
        f"Bearer {TOKEN_A[:-1]}",
        TOKEN_A,
    ):
        sent = dict(headers) | ({"Authorization": auth} if auth else {})
        response = httpx2.post(http_server.url + "/mcp", json=initialize, headers=sent, timeout=10)
        assert response.status_code == 401, (auth, response.status_code)
        assert response.headers.get("www-authenticate") == "Bearer"
        assert TOKEN_A not in response.text and TOKEN_B not in response.text
    assert httpx2.get(http_server.url + "/health", timeout=10).json()["status"] == "ok"
    assert httpx2.get(http_server.url + "/ready", timeout=10).status_code == 200
    accepted = httpx2.post(
        http_server.url + "/mcp",
        json=initialize,
        headers=headers | {"Authorization": f"Bearer {TOKEN_A}"},
        timeout=10,
    )
    assert accepted.status_code != 401


async def test_http_cursors_and_results_are_bound_to_the_token_that_made_them(
    http_server: HttpServer,
) -> None:
    with anyio.fail_after(60):
        async with http_client(http_server, TOKEN_A) as alice:
            page = structured(await alice.call_tool("list_page", {"source": "offset_total"}))
            drained = structured(
                await alice.call_tool("fetch_all", {"source": "body_token", "max_records": 30})
            )
        async with http_client(http_server, TOKEN_B) as bob:
            for args in ({"cursor": page["cursor"]}, {"cursor": page["next_cursor"]}):
                text = error_text(await bob.call_tool("list_page", args))
                assert "belongs to another caller" in text
            text = error_text(await bob.call_tool("fetch_all", {"cursor": drained["next_cursor"]}))
            assert "belongs to another caller" in text
            with pytest.raises(MCPError, match="no stored results"):
                await bob.read_resource(drained["results_uri"])
            own = structured(await bob.call_tool("list_page", {"source": "offset_total"}))
            assert own["records"] == page["records"]
        async with http_client(http_server, TOKEN_A) as alice:
            following = structured(await alice.call_tool("list_page", {"cursor": page["next_cursor"]}))
            assert ids(following["records"]) == ALL_IDS[40:80]
            rest = structured(await alice.call_tool("fetch_all", {"cursor": drained["next_cursor"]}))
            assert ids(drained["records"] + rest["records"]) == ALL_IDS
            assert rest["results_uri"] == drained["results_uri"]  # the resumed drain appends to it
            stored = await alice.read_resource(drained["results_uri"])
            assert ids(json.loads(stored.contents[0].text)["records"]) == ALL_IDS  # type: ignore[union-attr]
    log = http_server.log.read_text(errors="replace")
    assert SAMPLE_KEY not in log and TOKEN_A not in log and TOKEN_B not in log


def test_http_refuses_a_foreign_host_header(http_server: HttpServer) -> None:
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 must not drive the server."""
    headers = {
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "Authorization": f"Bearer {TOKEN_A}",
        "Host": "evil.example",
    }
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    response = httpx2.post(http_server.url + "/mcp", json=body, headers=headers, timeout=10)
    assert response.status_code in {400, 403, 421}, response.status_code
