"""Fault injection against the sample API, through the real MCP client: every fault survived or
clearly reported, no record lost or duplicated, no credential sent to another origin.

The table of cases lives in `tests.fault_table` (``python -m tests.fault_table`` prints it);
the focused tests below pin the details: retries and waits in the notes, ``Retry-After`` in both
forms and its cap, client errors not retried, a failed drain that resumes exactly, malformed
answers explained, and ``dedupe_key``.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp import Client

from mcp_paginate.config import AppConfig
from mcp_paginate.sample import FaultPlan, SampleAPI
from mcp_paginate.server import create_server
from tests.conftest import structured
from tests.fault_table import API_KEY, CASES, FaultCase, build_config, run_case
from tests.support import ALL_IDS, ALLOY_ENV

WAITED = re.compile(r"retried (\d+) time\(s\) \(([^)]*)\), waited ([0-9.]+)s in total")


# ------------------------------------------------------------------------------------------------
# The table
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_fault_case(case: FaultCase) -> None:
    row = run_case(case)
    assert row.outcome == case.expect, (row.reason, row.problems)
    assert row.lost == 0, row
    assert row.duplicates == 0, row
    assert row.creds_elsewhere == 0, row
    assert row.problems == []
    if case.expect == "reported":
        assert row.first_error
        assert API_KEY not in row.first_error
    assert row.received == (len(ALL_IDS) if case.expected_ids is None else case.expected_ids)


def test_cases_cover_every_fault_of_the_plan() -> None:
    used = {name for case in CASES for name in case.faults} | {"evil_next_url"}
    faults = set(FaultPlan.__dataclass_fields__)
    kinds = {"status_code", "retry_after", "slow_seconds"}
    assert faults - kinds - used == set()


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def api() -> Iterator[SampleAPI]:
    with SampleAPI(api_key=API_KEY) as running:
        yield running


@asynccontextmanager
async def connect(config: AppConfig) -> AsyncIterator[Client]:
    async with Client(create_server(config, "memory://", environ=ALLOY_ENV)) as client:
        yield client


def config_with(url: str, extra: dict[str, dict[str, Any]] | None = None, **server: Any) -> AppConfig:
    return build_config(url, extra, **server)


def error_text(result: Any) -> str:
    assert result.is_error, result.structured_content
    return " ".join(getattr(item, "text", "") for item in result.content)


def waits(notes: list[str]) -> list[tuple[int, str, float]]:
    """(retries, reasons, seconds waited) of every retry note."""
    found = []
    for note in notes:
        for match in WAITED.finditer(note):
            found.append((int(match.group(1)), match.group(2), float(match.group(3))))
    return found


async def stored_ids(client: Client, uri: str) -> list[int]:
    result = await client.read_resource(uri)
    text = getattr(result.contents[0], "text", None)
    assert isinstance(text, str)
    return [record["id"] for record in json.loads(text)["records"]]


async def second_page_notes(client: Client, source: str) -> list[str]:
    """Read page 1 (request 1), then page 2 (request 2 onwards, where the faults are)."""
    first = structured(await client.call_tool("list_page", {"source": source}))
    second = structured(await client.call_tool("list_page", {"cursor": first["next_cursor"]}))
    assert second["page"]["number"] == 2
    assert second["records"][0]["id"] == len(first["records"]) + 1
    notes = second["notes"]
    assert isinstance(notes, list)
    return notes


# ------------------------------------------------------------------------------------------------
# Retries, waits and Retry-After
# ------------------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("faults", "reason"),
    [
        ({"status_every": 2, "status_code": 503}, "503"),
        ({"status_every": 2, "status_code": 429}, "429"),
        ({"reset_every": 2}, "connection error"),
        ({"truncate_every": 2}, "connection error"),
        ({"bad_json_every": 2}, "invalid JSON"),
    ],
)
async def test_retry_is_named_in_the_page_notes(api: SampleAPI, faults: dict[str, Any], reason: str) -> None:
    api.faults = FaultPlan(**faults)
    async with connect(config_with(api.url)) as client:
        notes = await second_page_notes(client, "alloy_style")
    assert [(retries, kinds) for retries, kinds, _ in waits(notes)] == [(1, reason)]
    assert api.stats.requests == 3  # page 1, page 2 failed, page 2 again


@pytest.mark.anyio
async def test_fetch_all_notes_show_retries_and_wait(api: SampleAPI) -> None:
    api.faults = FaultPlan(status_every=3, status_code=429, retry_after="1")
    async with connect(config_with(api.url)) as client:
        data = structured(await client.call_tool("fetch_all", {"source": "alloy_style"}))
    assert data["complete"] is True
    assert data["count"] == len(ALL_IDS)
    found = waits(data["notes"])
    assert found, data["notes"]
    assert all(kinds == "429" and seconds >= 1.0 for _, kinds, seconds in found)


@pytest.mark.anyio
async def test_fetch_all_notes_count_every_retry(api: SampleAPI) -> None:
    # alloy_style asks 50 per request, one at a time: requests 3 and 6 (pages 3 and 5) get a 429.
    api.faults = FaultPlan(status_every=3, status_code=429, retry_after="1")
    async with connect(config_with(api.url)) as client:
        data = structured(await client.call_tool("fetch_all", {"source": "alloy_style"}))
    assert data["complete"] is True
    assert api.stats.requests == 7
    found = waits(data["notes"])
    assert sum(retries for retries, _, _ in found) == 2, data["notes"]
    assert sum(seconds for _, _, seconds in found) == pytest.approx(2.0, abs=0.1)


@pytest.mark.anyio
async def test_retry_after_seconds_is_honoured(api: SampleAPI) -> None:
    api.faults = FaultPlan(status_every=2, status_code=429, retry_after="1")
    async with connect(config_with(api.url, retry_after_cap_seconds=60)) as client:
        notes = await second_page_notes(client, "offset_total")
    # Without Retry-After the wait would be backoff jitter under 0.01s.
    assert waits(notes) == [(1, "429", 1.0)]


@pytest.mark.anyio
async def test_retry_after_http_date_is_honoured(api: SampleAPI) -> None:
    api.faults = FaultPlan(
        status_every=2, status_code=503, retry_after=email.utils.formatdate(time.time() + 2, usegmt=True)
    )
    async with connect(config_with(api.url, retry_after_cap_seconds=60)) as client:
        notes = await second_page_notes(client, "body_token")
    [(retries, kinds, seconds)] = waits(notes)
    assert (retries, kinds) == (1, "503")
    # The date has whole seconds, 1 to 2 s after it was written; backoff alone would be < 0.01 s.
    assert 0.5 <= seconds <= 2.0


@pytest.mark.anyio
@pytest.mark.parametrize(
    "retry_after",
    ["3600", email.utils.formatdate(time.time() + 3600, usegmt=True)],
    ids=["seconds", "http-date"],
)
async def test_retry_after_is_capped(api: SampleAPI, retry_after: str) -> None:
    api.faults = FaultPlan(status_every=2, status_code=429, retry_after=retry_after)
    async with connect(config_with(api.url, retry_after_cap_seconds=0.3)) as client:
        notes = await second_page_notes(client, "header_cursor")
    assert waits(notes) == [(1, "429", 0.3)]


@pytest.mark.anyio
async def test_retry_after_in_the_past_means_no_wait(api: SampleAPI) -> None:
    api.faults = FaultPlan(
        status_every=2, status_code=503, retry_after=email.utils.formatdate(time.time() - 600, usegmt=True)
    )
    async with connect(config_with(api.url, retry_after_cap_seconds=60)) as client:
        notes = await second_page_notes(client, "link_header")
    assert waits(notes) == [(1, "503", 0.0)]


@pytest.mark.anyio
async def test_slow_answer_times_out_and_is_retried(api: SampleAPI) -> None:
    api.faults = FaultPlan(slow_every=2, slow_seconds=1.0)
    async with connect(config_with(api.url, request_timeout_seconds=0.2)) as client:
        notes = await second_page_notes(client, "starting_after")
    assert [(retries, kinds) for retries, kinds, _ in waits(notes)] == [(1, "timeout")]


@pytest.mark.anyio
async def test_retries_running_out_name_the_attempts(api: SampleAPI) -> None:
    api.faults = FaultPlan(status_every=1, status_code=503)
    async with connect(config_with(api.url, retries=2)) as client:
        text = error_text(await client.call_tool("list_page", {"source": "pages_total"}))
    assert api.stats.requests == 3
    assert "503" in text
    assert "gave up after 3 attempts" in text
    assert "retried 2 time(s) (503)" in text
    assert "retry with the same cursor" in text


# ------------------------------------------------------------------------------------------------
# Client errors
# ------------------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "hint"), [(400, "check the params"), (401, "API key"), (403, "permission"), (404, "URL")]
)
async def test_client_error_is_not_retried_and_explained(api: SampleAPI, status: int, hint: str) -> None:
    api.faults = FaultPlan(status_every=1, status_code=status)
    async with connect(config_with(api.url)) as client:
        text = error_text(await client.call_tool("list_page", {"source": "offset_total"}))
        assert api.stats.requests == 1
        data = structured(await client.call_tool("fetch_all", {"source": "offset_total"}))
    assert api.stats.requests == 2
    assert f"upstream answered {status}" in text
    assert f"injected fault: HTTP {status}" in text
    assert hint in text
    assert data["stop_reason"] == "error"
    assert data["count"] == 0
    assert f"upstream answered {status}" in data["error"]


@pytest.mark.anyio
async def test_wrong_key_is_one_request_and_the_key_is_not_shown() -> None:
    with SampleAPI(api_key="another-key") as api:
        async with connect(config_with(api.url)) as client:
            text = error_text(await client.call_tool("list_page", {"source": "next_url"}))
        assert api.stats.requests == 1
        assert api.stats.authorizations == [f"Bearer {API_KEY}"]
    assert "401" in text
    assert "invalid api key" in text
    assert API_KEY not in text


@pytest.mark.anyio
async def test_long_upstream_message_is_trimmed(api: SampleAPI) -> None:
    junk = "x" * 5000
    extra = {
        "bad_limit": {
            "url": api.url + "/offset",
            "query": {"limit": junk},
            "pagination": {"mode": "offset", "limit_param": None},
        }
    }
    async with connect(config_with(api.url, extra)) as client:
        text = error_text(await client.call_tool("list_page", {"source": "bad_limit"}))
    assert api.stats.requests == 1
    assert "upstream answered 400" in text
    assert "limit must be an integer" in text
    assert "…" in text
    assert junk not in text
    assert len(text) < 800


# ------------------------------------------------------------------------------------------------
# A drain that fails midway
# ------------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_failed_drain_keeps_what_it_fetched_and_resumes_exactly(api: SampleAPI) -> None:
    # alloy_style: 50 per request, sequential; request 3 (records 101..150) fails, no retries.
    api.faults = FaultPlan(status_every=3, status_code=503)
    async with connect(config_with(api.url, retries=0)) as client:
        first = structured(await client.call_tool("fetch_all", {"source": "alloy_style"}))
        assert first["complete"] is False
        assert first["stop_reason"] == "error"
        assert "upstream answered 503" in first["error"]
        assert first["count"] == 100
        assert [r["id"] for r in first["records"]] == list(range(1, 101))
        assert await stored_ids(client, first["results_uri"]) == list(range(1, 101))
        assert first["next_cursor"]

        api.faults = FaultPlan()
        page = structured(await client.call_tool("list_page", {"cursor": first["next_cursor"]}))
        assert [r["id"] for r in page["records"]] == list(range(101, 151))
        rest = structured(await client.call_tool("fetch_all", {"cursor": first["next_cursor"]}))
    assert rest["complete"] is True
    assert rest["stop_reason"] == "exhausted"
    assert rest["error"] is None
    assert rest["next_cursor"] is None
    assert [r["id"] for r in rest["records"]] == list(range(101, 238))


@pytest.mark.anyio
async def test_transport_failure_midway_resumes_exactly_with_concurrent_pages(api: SampleAPI) -> None:
    # offset_total knows its total, so pages are requested ahead; request 4 drops the connection.
    api.faults = FaultPlan(reset_every=4)
    async with connect(config_with(api.url, retries=0)) as client:
        first = structured(await client.call_tool("fetch_all", {"source": "offset_total", "fields": ["id"]}))
        got = await stored_ids(client, first["results_uri"])
        assert first["stop_reason"] == "error"
        assert "could not reach" in first["error"]
        assert got == list(range(1, len(got) + 1))
        api.faults = FaultPlan()
        rest = structured(await client.call_tool("fetch_all", {"cursor": first["next_cursor"]}))
        assert rest["results_uri"] == first["results_uri"]  # the resumed drain appends to it
        got = await stored_ids(client, rest["results_uri"])
    assert rest["complete"] is True
    assert got == ALL_IDS


# ------------------------------------------------------------------------------------------------
# Malformed answers
# ------------------------------------------------------------------------------------------------


def malformed_sources(url: str) -> dict[str, dict[str, Any]]:
    return {
        "records_missing": {
            "url": url + "/offset",
            "records": "data.items",
            "pagination": {"mode": "offset", "total": "total"},
        },
        "records_not_list": {
            "url": url + "/offset",
            "records": "total",
            "pagination": {"mode": "offset", "total": "total"},
        },
    }


MALFORMED = [
    ("records_missing", ["'data.items'", "missing", "top-level keys: items, total, limit, offset"]),
    ("records_not_list", ["'total'", "int, not a list", "top-level keys: items, total, limit, offset"]),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("source", "expected"), MALFORMED, ids=[name for name, _ in MALFORMED])
async def test_malformed_answer_names_the_path_and_what_was_found(
    api: SampleAPI, source: str, expected: list[str]
) -> None:
    async with connect(config_with(api.url, malformed_sources(api.url))) as client:
        text = error_text(await client.call_tool("list_page", {"source": source}))
        data = structured(await client.call_tool("fetch_all", {"source": source}))
    for part in expected:
        assert part in text
        assert part in data["error"]
    assert data["stop_reason"] == "error"
    assert data["count"] == 0
    assert api.stats.requests == 2  # a wrong shape is not retried


@pytest.mark.anyio
@pytest.mark.parametrize("source", [name for name, _ in MALFORMED])
async def test_malformed_answer_names_the_source(api: SampleAPI, source: str) -> None:
    async with connect(config_with(api.url, malformed_sources(api.url))) as client:
        text = error_text(await client.call_tool("list_page", {"source": source}))
        data = structured(await client.call_tool("fetch_all", {"source": source}))
    assert source in text
    assert source in data["error"]


# ------------------------------------------------------------------------------------------------
# dedupe_key
# ------------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_dedupe_key_drops_repeated_records(api: SampleAPI) -> None:
    # The offset sent is half the position, so consecutive pages of 40 overlap by 20 records.
    overlapping = {
        "overlap": {
            "url": api.url + "/offset",
            "records": "items",
            "pagination": {
                "mode": "offset",
                "total": "total",
                "page_size": 40,
                "offset_param": {"in": "query", "name": "offset", "template": "{{ offset // 2 }}"},
            },
        }
    }
    async with connect(config_with(api.url, overlapping)) as client:
        plain = structured(await client.call_tool("fetch_all", {"source": "overlap", "fields": ["id"]}))
        deduped = structured(
            await client.call_tool("fetch_all", {"source": "overlap", "fields": ["id"], "dedupe_key": "id"})
        )
        stored = await stored_ids(client, deduped["results_uri"])
    plain_ids = [r["id"] for r in plain["records"]]
    assert len(plain_ids) > len(set(plain_ids))  # the API really repeats records
    assert stored == sorted(set(plain_ids))
    assert [r["id"] for r in deduped["records"]] == stored
    assert deduped["count"] == len(stored)
    assert any(
        f"dropped {len(plain_ids) - len(stored)} records whose id" in note for note in deduped["notes"]
    )
