"""`HttpClient.send` against real loopback servers: retries, ``Retry-After``, the response size
cap, and redirects (followed within the origin; credentials dropped, secrets and bodies refused
across it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from mcp_paginate.errors import HostNotAllowedError, ResponseShapeError, TransportError, UpstreamStatusError
from mcp_paginate.http import HttpClient, OriginPolicy, RequestLog, RetryPolicy, origin_of
from mcp_paginate.paginators import PreparedRequest
from mcp_paginate.redaction import Redactor
from mcp_paginate.sample import FaultPlan, SampleAPI
from tests.loopback import serving

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(retries=3, backoff_base=0.0, retry_after_cap=0.05, timeout=10)
SECRET = "sk-live-4f9a0c2e7b"


async def _echo(request: Request) -> Response:
    """What arrived: method, headers (lower-case names), query and body."""
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "headers": dict(request.headers),
            "query": dict(request.query_params),
            "body": body.decode() or None,
        }
    )


def _redirect_app(target: str) -> Starlette:
    """``/to?status=N&where=PATH`` redirects to ``target + PATH``; ``/loop`` redirects to itself."""

    async def to(request: Request) -> Response:
        status = int(request.query_params["status"])
        return RedirectResponse(target + request.query_params["where"], status_code=status)

    async def loop(request: Request) -> Response:
        return RedirectResponse("/loop", status_code=302)

    methods = ["GET", "POST"]
    return Starlette(
        routes=[
            Route("/to", to, methods=methods),
            Route("/loop", loop),
            Route("/echo", _echo, methods=methods),
        ]
    )


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    http = HttpClient(FAST, redactor=Redactor([SECRET]))
    try:
        yield http
    finally:
        await http.aclose()


def _get(url: str, **fields: Any) -> PreparedRequest:
    return PreparedRequest(method=fields.pop("method", "GET"), url=url, **fields)


async def test_a_transient_status_is_retried_and_logged(client: HttpClient) -> None:
    with SampleAPI(faults=FaultPlan(status_every=2, retry_after="1")) as api:
        request = _get(api.url + "/offset")
        policy = OriginPolicy(home=origin_of(api.url))
        await client.send(request, policy)  # request 1: answered
        log = RequestLog()
        with anyio.fail_after(10):
            response = await client.send(request, policy, log=log)  # 2: a 503, then 3: answered
    assert response.status == 200 and len(response.body["items"]) == 10
    assert (log.requests, log.retries, log.reasons) == (2, 1, ["503"])
    assert log.notes() == [log.summary()]


async def test_retry_after_is_capped_by_the_policy(client: HttpClient) -> None:
    with SampleAPI(faults=FaultPlan(status_every=1, retry_after="3600")) as api:
        log = RequestLog()
        with anyio.fail_after(10), pytest.raises(UpstreamStatusError) as caught:
            await client.send(_get(api.url + "/offset"), OriginPolicy(home=origin_of(api.url)), log=log)
    # An hour asked for each time; at most the cap waited.
    assert log.retries == FAST.retries and log.waited <= FAST.retries * FAST.retry_after_cap
    assert caught.value.status == 503 and caught.value.retry_after == FAST.retry_after_cap
    assert f"gave up after {FAST.retries + 1} attempts" in str(caught.value)


async def test_a_status_that_is_not_transient_is_not_retried(client: HttpClient) -> None:
    with SampleAPI() as api:
        log = RequestLog()
        with pytest.raises(UpstreamStatusError) as caught:
            await client.send(
                _get(api.url + "/offset?limit=x"), OriginPolicy(home=origin_of(api.url)), log=log
            )
    assert caught.value.status == 400 and "limit must be an integer" in str(caught.value)
    assert log.retries == 0


async def test_a_body_over_max_response_bytes_is_abandoned() -> None:
    http = HttpClient(RetryPolicy(retries=0, max_response_bytes=100_000, timeout=10))
    try:
        with SampleAPI(faults=FaultPlan(huge_body_bytes=400_000)) as api:
            with pytest.raises(ResponseShapeError, match="exceeded the 100,000-byte limit"):
                await http.send(_get(api.url + "/offset"), OriginPolicy(home=origin_of(api.url)))
            assert api.stats.requests == 1
    finally:
        await http.aclose()


async def test_a_redirect_within_the_origin_keeps_the_credentials(client: HttpClient) -> None:
    async with serving(_redirect_app("")) as url:
        request = _get(
            url + "/to", query={"status": "302", "where": "/echo"}, headers={"Authorization": "Bearer k"}
        )
        response = await client.send(request, OriginPolicy(home=origin_of(url)))
    assert response.url == url + "/echo"
    assert response.body["headers"]["authorization"] == "Bearer k"


async def test_a_redirect_to_another_allowed_origin_drops_every_credential(client: HttpClient) -> None:
    headers = {
        "Authorization": "Bearer k",
        "X-Api-Key": "k2",
        "X-Session-Id": "s",
        "Accept": "application/json",
    }
    async with serving(_redirect_app("")) as elsewhere, serving(_redirect_app(elsewhere)) as home:
        policy = OriginPolicy(home=origin_of(home), allowed_hosts=(elsewhere.split("//")[1],))
        request = _get(home + "/to", query={"status": "307", "where": "/echo"}, headers=headers)
        response = await client.send(request, policy)
    received = response.body["headers"]
    assert response.url == elsewhere + "/echo"
    assert received["accept"] == "application/json"
    assert not {"authorization", "x-api-key", "x-session-id"} & set(received)


async def test_a_redirect_outside_the_allowed_hosts_is_refused(client: HttpClient) -> None:
    async with serving(_redirect_app("")) as elsewhere, serving(_redirect_app(elsewhere)) as home:
        request = _get(home + "/to", query={"status": "302", "where": "/echo"})
        with pytest.raises(HostNotAllowedError, match="not in server.allowed_hosts"):
            await client.send(request, OriginPolicy(home=origin_of(home)))


async def test_a_redirect_carrying_a_secret_to_another_origin_is_refused(client: HttpClient) -> None:
    async with serving(_redirect_app("")) as elsewhere, serving(_redirect_app(elsewhere)) as home:
        policy = OriginPolicy(home=origin_of(home), allowed_hosts=(elsewhere.split("//")[1],))
        request = _get(home + "/to", query={"status": "302", "where": f"/echo?key={SECRET}"})
        with pytest.raises(HostNotAllowedError) as caught:
            await client.send(request, policy)
    assert "would carry a secret" in str(caught.value) and SECRET not in str(caught.value)


async def test_a_303_turns_a_post_into_a_get_without_its_body(client: HttpClient) -> None:
    async with serving(_redirect_app("")) as url:
        request = _get(url + "/to", method="POST", query={"status": "303", "where": "/echo"}, body={"q": 1})
        response = await client.send(request, OriginPolicy(home=origin_of(url)))
    assert response.body["method"] == "GET" and response.body["body"] is None


async def test_a_307_keeps_the_post_and_its_body_within_the_origin(client: HttpClient) -> None:
    async with serving(_redirect_app("")) as url:
        request = _get(url + "/to", method="POST", query={"status": "307", "where": "/echo"}, body={"q": 1})
        response = await client.send(request, OriginPolicy(home=origin_of(url)))
    assert response.body["method"] == "POST" and response.body["body"] == '{"q":1}'


async def test_a_body_is_never_sent_again_to_another_origin(client: HttpClient) -> None:
    async with serving(_redirect_app("")) as elsewhere, serving(_redirect_app(elsewhere)) as home:
        policy = OriginPolicy(home=origin_of(home), allowed_hosts=(elsewhere.split("//")[1],))
        request = _get(home + "/to", method="POST", query={"status": "308", "where": "/echo"}, body={"q": 1})
        with pytest.raises(HostNotAllowedError, match="refusing to send the request body there"):
            await client.send(request, policy)


async def test_redirects_stop_after_a_bounded_number(client: HttpClient) -> None:
    async with serving(_redirect_app("")) as url:
        with pytest.raises(TransportError, match="too many redirects"):
            await client.send(_get(url + "/loop"), OriginPolicy(home=origin_of(url)))
