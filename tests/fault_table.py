"""The fault-injection table: every fault of the sample API against the real server, with ground truth.

Each `FaultCase` starts its own `SampleAPI` with a `FaultPlan`, drains one configured source with
``fetch_all`` through a real in-memory `mcp.Client`, and, when the drain stops with an error,
resumes from ``next_cursor`` (after clearing the fault, unless the case keeps it on) until the
source is complete. Every record is read back from the ``results_uri`` resource of each call, so
the row's figures are ground truth, not what the server claims:

- ``lost``: expected ids never received (``expected`` is every id, or, when the API misbehaves in
  a way no client can get past, such as a loop or a next-link to a foreign origin, the ids it
  served correctly before that);
- ``duplicates``: ids received more than once across the first call and its resumptions;
- ``creds elsewhere``: requests carrying the API key that reached the "evil" origin of a
  next-link (a second sample API on another loopback address).

``outcome`` is ``survived`` when the first ``fetch_all`` drained the source completely despite
the fault, ``reported`` when it stopped with a clear error (or a tool error) instead; the reason
is the first call's error, with the sample APIs' URLs shown as ``<api>`` and ``<evil>``.
``requests`` counts every upstream request of the case (resumptions included), ``faults hit`` the
requests the plan made fail (for ``*_every`` and huge-body faults), and ``retries (notes)`` the
retries the result notes admit to (summed over calls; identical per-page retry notes are merged
by ``fetch_all``, so it can be lower than the retries made).

Run ``python -m tests.fault_table`` for the Markdown table; it exits 1 if any row lost or
duplicated records, leaked credentials, or did not end as expected.
"""

from __future__ import annotations

import dataclasses
import email.utils
import json
import logging
import re
import socket
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, Literal

import anyio
from mcp import Client

from mcp_paginate.config import AppConfig
from mcp_paginate.sample import FaultPlan, SampleAPI
from mcp_paginate.server import create_server
from tests.support import ALL_IDS, ALLOY_ENV, sample_sources

__all__ = [
    "API_KEY",
    "CASES",
    "FAST_SETTINGS",
    "FaultCase",
    "Row",
    "build_config",
    "markdown_table",
    "run_case",
    "run_case_async",
]

API_KEY = ALLOY_ENV["ALLOY_API_KEY"]
"""The sample API's key: the alloy preset sends it, the other sources send it from ${ALLOY_API_KEY}."""

FAST_SETTINGS: dict[str, Any] = {
    "retries": 4,
    "backoff_base_seconds": 0.005,
    "retry_after_cap_seconds": 2.0,
    "request_timeout_seconds": 5.0,
    "tool_deadline_seconds": 60.0,
}
"""Server settings that keep retry waits short so the table runs in seconds."""

MAX_RESUMES = 60
"""Bound on fetch_all(cursor=next_cursor) calls after the first one."""

Outcome = Literal["survived", "reported"]


def _http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


@dataclasses.dataclass(frozen=True)
class FaultCase:
    """One row of the table: a fault plan, the source it hits and what must happen."""

    name: str
    style: str
    faults: dict[str, Any]
    expect: Outcome
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)
    expected_ids: int | None = None
    """None: every id; N: ids 1..N (what the API served before misbehaving past all recovery)."""
    resume: bool = True
    """After a reported stop, continue from next_cursor until complete."""
    clear_before_resume: bool = True
    """Remove the fault before resuming (False: resume repeatedly with the fault still on)."""
    max_requests: int | None = None
    """Upper bound on upstream requests made by the first call (loops, non-transient errors)."""
    error_mentions: tuple[str, ...] = ()
    """Substrings the first call's error must contain (case-insensitive)."""
    api_key: str = API_KEY
    """The key the sample API expects (another value makes every request a 401)."""
    evil: Literal["refused", "allowed"] | None = None
    """Point the first next-link at a second origin; 'allowed' lists it in server.allowed_hosts."""
    args: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Extra fetch_all arguments."""

    @property
    def id(self) -> str:
        return f"{self.name}-{self.style}".replace(" ", "_")


@dataclasses.dataclass
class Row:
    """What happened in one case."""

    fault: str
    style: str
    outcome: str
    reason: str
    requests: int
    faults_hit: int | None
    retries: int
    lost: int
    duplicates: int
    creds_elsewhere: int
    seconds: float
    expected: Outcome
    calls: int = 1
    received: int = 0
    first_error: str | None = None
    first_requests: int = 0
    notes: list[str] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.outcome == self.expected
            and self.lost == 0
            and self.duplicates == 0
            and self.creds_elsewhere == 0
            and not self.problems
        )


# ------------------------------------------------------------------------------------------------
# The cases
# ------------------------------------------------------------------------------------------------

_NO_RETRIES = {"retries": 0}

CASES: list[FaultCase] = [
    # Transient statuses: retried with backoff (Retry-After honoured), the drain completes.
    FaultCase(
        "429 Retry-After seconds",
        "alloy_style",
        {"status_every": 3, "status_code": 429, "retry_after": "1"},
        "survived",
    ),
    FaultCase(
        "429 Retry-After HTTP-date (capped 0.2s)",
        "body_token",
        {"status_every": 3, "status_code": 429, "retry_after": _http_date(3600)},
        "survived",
        settings={"retry_after_cap_seconds": 0.2},
    ),
    FaultCase("503", "offset_total", {"status_every": 3}, "survived"),
    FaultCase("500", "pages_total", {"status_every": 2, "status_code": 500}, "survived"),
    FaultCase("502", "header_cursor", {"status_every": 3, "status_code": 502}, "survived"),
    FaultCase("504", "starting_after", {"status_every": 3, "status_code": 504}, "survived"),
    FaultCase("503", "pages_capped", {"status_every": 4}, "survived"),
    # Broken connections and bodies: retried like transient statuses.
    FaultCase("connection reset", "link_header", {"reset_every": 3}, "survived"),
    FaultCase("connection reset", "offset_total", {"reset_every": 2}, "survived"),
    FaultCase("truncated body", "next_url", {"truncate_every": 3}, "survived"),
    FaultCase("truncated body", "alloy_style", {"truncate_every": 2}, "survived"),
    FaultCase("bad JSON (HTML 200)", "alloy_style", {"bad_json_every": 2}, "survived"),
    FaultCase("bad JSON (HTML 200)", "hal", {"bad_json_every": 3}, "survived"),
    FaultCase(
        "slow (1s > 0.25s timeout)",
        "body_token",
        {"slow_every": 4, "slow_seconds": 1.0},
        "survived",
        settings={"request_timeout_seconds": 0.25},
    ),
    # Retries run out: reported with the attempts named; resumed once the API recovers.
    FaultCase(
        "429 until retries run out",
        "offset_total",
        {"status_every": 1, "status_code": 429, "retry_after": "0"},
        "reported",
        settings={"retries": 2},
        max_requests=3,
        error_mentions=("429", "gave up after 3 attempts"),
    ),
    FaultCase(
        "huge body (20 MB > 1 MB cap)",
        "header_cursor",
        {"huge_body_bytes": 20_000_000},
        "reported",
        settings={"max_response_bytes": 1_000_000},
        max_requests=1,
        error_mentions=("1,000,000-byte limit", "stopped reading"),
    ),
    # Non-transient client errors: not retried, reported with the status and the upstream message.
    FaultCase(
        "401 wrong key",
        "offset_total",
        {},
        "reported",
        api_key="a-different-key",
        expected_ids=0,
        resume=False,
        max_requests=1,
        error_mentions=("401", "invalid api key"),
    ),
    FaultCase(
        "404",
        "body_token",
        {"status_every": 1, "status_code": 404},
        "reported",
        expected_ids=0,
        resume=False,
        max_requests=1,
        error_mentions=("404", "injected fault"),
    ),
    # Faults in the middle of a drain with no retries: stop, then resume from next_cursor with
    # the fault still on, call after call, until every record is in.
    FaultCase(
        "503 mid-drain, resume x N",
        "offset_total",
        {"status_every": 4},
        "reported",
        settings=_NO_RETRIES,
        clear_before_resume=False,
        error_mentions=("503",),
    ),
    FaultCase(
        "reset mid-drain, resume x N",
        "body_token",
        {"reset_every": 3},
        "reported",
        settings=_NO_RETRIES,
        clear_before_resume=False,
        error_mentions=("could not reach",),
    ),
    FaultCase(
        "truncated mid-drain, resume x N",
        "alloy_style",
        {"truncate_every": 3},
        "reported",
        settings=_NO_RETRIES,
        clear_before_resume=False,
    ),
    FaultCase(
        "500 mid-drain, resume x N",
        "link_header",
        {"status_every": 4, "status_code": 500},
        "reported",
        settings=_NO_RETRIES,
        clear_before_resume=False,
        error_mentions=("500",),
    ),
    FaultCase(
        "bad JSON mid-drain, resume x N",
        "pages_capped",
        {"bad_json_every": 3},
        "reported",
        settings=_NO_RETRIES,
        clear_before_resume=False,
        error_mentions=("not json",),
    ),
    FaultCase(
        "503 mid-drain, resume x N",
        "starting_after",
        {"status_every": 3},
        "reported",
        settings=_NO_RETRIES,
        clear_before_resume=False,
    ),
    # Loops: a cursor/next-link seen before ends paging within a few requests.
    *[
        FaultCase(
            "loop",
            style,
            {"loop": True},
            "reported",
            expected_ids=3 * size,
            resume=False,
            max_requests=4,
            error_mentions=("already visited",),
        )
        for style, size in (
            ("body_token", 30),
            ("header_cursor", 40),
            ("link_header", 25),
            ("next_url", 20),
            ("odata", 30),
            ("hal", 30),
        )
    ],
    # A next-link to another origin: refused before any request goes there.
    *[
        FaultCase(
            "evil next-link",
            style,
            {},
            "reported",
            evil="refused",
            expected_ids=size,
            resume=False,
            max_requests=1,
            error_mentions=("refusing to follow a link", "allowed_hosts"),
        )
        for style, size in (("link_header", 25), ("next_url", 20), ("odata", 30), ("hal", 30))
    ],
    # ...and when the operator lists that origin, followed without the credentials.
    FaultCase("evil next-link, host allowed", "link_header", {}, "survived", evil="allowed"),
    FaultCase("evil next-link, host allowed", "next_url", {}, "survived", evil="allowed"),
    # An API that claims more forever, with empty pages: ends with a clear reason.
    *[
        FaultCase(
            "empty_forever",
            style,
            {"empty_forever": True},
            "reported",
            resume=False,
            max_requests=pages + 3,
            error_mentions=("empty pages in a row",),
        )
        for style, pages in (("alloy_style", 5), ("body_token", 8), ("header_cursor", 6))
    ],
    # Stripe style: an empty page has no last record, so no next cursor: the end, whatever has_more says.
    FaultCase("empty_forever", "starting_after", {"empty_forever": True}, "survived", max_requests=9),
    # A total that keeps growing: the drain ends on the data, not on the moving total.
    FaultCase("growing_total", "offset_total", {"growing_total": True}, "survived", max_requests=20),
]


# ------------------------------------------------------------------------------------------------
# Running one case
# ------------------------------------------------------------------------------------------------


def build_config(
    url: str, extra_sources: dict[str, dict[str, Any]] | None = None, **server: Any
) -> AppConfig:
    """Every sample source (plus odata, hal and any extra ones), each sending the API key; fast retries."""
    sources = sample_sources(url)
    sources["odata"] = {
        "url": url + "/odata",
        "records": "value",
        "pagination": {
            "mode": "cursor",
            "next": {"body": '"@odata.nextLink"'},
            "cursor_param": {"in": "url"},
            "size_param": {"in": "query", "name": "$top"},
            "page_size": 30,
        },
    }
    sources["hal"] = {
        "url": url + "/hal",
        "records": "_embedded.items",
        "pagination": {
            "mode": "cursor",
            "next": {"body": "_links.next.href"},
            "cursor_param": {"in": "url"},
            "size_param": {"in": "query", "name": "size"},
            "page_size": 30,
        },
    }
    sources.update(extra_sources or {})
    for name, table in sources.items():
        if name != "alloy_style":
            table["headers"] = {"Authorization": "Bearer ${ALLOY_API_KEY}"}
    settings = {"allowed_hosts": [], **FAST_SETTINGS, **server}
    return AppConfig.model_validate({"server": settings, "sources": sources}, context={"environ": ALLOY_ENV})


def _loopback_host() -> str:
    """Another loopback address for the evil origin when the system routes 127/8 (Linux does)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.2", 0))
        return "127.0.0.2"
    except OSError:
        return "127.0.0.1"  # another port is still another origin


@contextmanager
def _apis(case: FaultCase) -> Iterator[tuple[SampleAPI, SampleAPI | None]]:
    with ExitStack() as stack:
        api = stack.enter_context(SampleAPI(api_key=case.api_key))
        evil = stack.enter_context(SampleAPI(host=_loopback_host())) if case.evil else None
        yield api, evil


_RETRIED = re.compile(r"retried (\d+) time")


def _faults_hit(plan: FaultPlan, requests: int) -> int | None:
    """Requests (numbered 1..requests under the plan) that the plan made fail, slow or huge."""
    if plan.huge_body_bytes is not None:
        return requests
    every = (plan.reset_every, plan.truncate_every, plan.status_every, plan.bad_json_every, plan.slow_every)
    if not any(every):
        return None
    return sum(1 for number in range(1, requests + 1) if plan.fault_for(number) or plan.is_slow(number))


def _retries_noted(notes: list[str]) -> int:
    return sum(int(match.group(1)) for note in notes for match in _RETRIED.finditer(note))


async def _records(client: Client, uri: str) -> list[Any]:
    result = await client.read_resource(uri)
    text = getattr(result.contents[0], "text", None)
    assert isinstance(text, str), f"results resource {uri} has no text"
    data = json.loads(text)
    records = data["records"]
    assert isinstance(records, list)
    return records


def _error_text(result: Any) -> str:
    return " ".join(getattr(item, "text", "") for item in result.content)


async def run_case_async(case: FaultCase) -> Row:
    """Run one case end to end; see the module docstring for what the figures mean."""
    started = time.monotonic()
    with _apis(case) as (api, evil):
        plan = FaultPlan(**case.faults)
        settings = dict(case.settings)
        if evil is not None:
            plan.evil_next_url = evil.url
            if case.evil == "allowed":
                settings["allowed_hosts"] = [f"{evil.host}:{evil.port}"]
        api.faults = plan  # installed before the first request: numbering starts at 1
        config = build_config(api.url, **settings)
        received: list[Any] = []
        notes: list[str] = []
        problems: list[str] = []
        stored_before: dict[str, int] = {}
        calls = 0
        first_error: str | None = None
        first_requests = 0
        first_complete = False
        async with Client(create_server(config, "memory://", environ=ALLOY_ENV)) as client:
            arguments: dict[str, Any] = {"source": case.style, **case.args}
            next_cursor: str | None = None
            complete = False
            while calls <= MAX_RESUMES:
                calls += 1
                error: str | None
                with anyio.fail_after(90):
                    result = await client.call_tool("fetch_all", arguments)
                if result.is_error:
                    error = _error_text(result)
                    data = None
                else:
                    data = result.structured_content
                    assert isinstance(data, dict)
                    error = data.get("error")
                    notes.extend(data.get("notes") or [])
                    stored = await _records(client, data["results_uri"])
                    # A resumed drain appends to the same results: this call's records follow the
                    # ones earlier calls already received from them.
                    before = stored_before.get(data["results_uri"], 0)
                    if data["records"] != stored[before : before + len(data["records"])]:
                        problems.append(f"call {calls}: inline records are not where results_uri went on")
                    if data["count"] != len(stored):
                        problems.append(f"call {calls}: count {data['count']} != {len(stored)} stored")
                    received.extend(stored[before:])
                    stored_before[data["results_uri"]] = len(stored)
                    complete = bool(data["complete"])
                    next_cursor = data.get("next_cursor")
                    if complete and (data["stop_reason"] != "exhausted" or error):
                        problems.append(f"call {calls}: complete with stop_reason {data['stop_reason']}")
                    if not complete and not error:
                        problems.append(f"call {calls}: incomplete ({data['stop_reason']}) with no error")
                if calls == 1:
                    first_error, first_complete = error, complete
                    first_requests = api.stats.requests
                    if case.resume and not complete and case.clear_before_resume:
                        api.faults = FaultPlan()
                if complete or not case.resume or not next_cursor or data is None:
                    break
                arguments = {"cursor": next_cursor}
            if case.resume and not complete:
                problems.append(f"not complete after {calls} calls (next_cursor={next_cursor is not None})")
        outcome = "survived" if first_complete else "reported"
        creds_elsewhere = 0
        if evil is not None:
            # The sources send no credential but the key, so any Authorization header there is one.
            creds_elsewhere = len(evil.stats.authorizations)
            if case.evil == "refused" and evil.stats.requests:
                problems.append(f"{evil.stats.requests} request(s) reached the refused origin")
            if case.evil == "allowed" and not evil.stats.requests:
                problems.append("the allowed next-link origin was never requested")
        requests = api.stats.requests + (evil.stats.requests if evil is not None else 0)
        faulty_requests = first_requests if case.clear_before_resume else api.stats.requests
        faults_hit = _faults_hit(plan, faulty_requests)
        urls = {api.url: "<api>"}
        if evil is not None:
            urls |= {evil.url: "<evil>", f"{evil.host}:{evil.port}": "<evil>"}
        if first_error is not None:
            for url, label in urls.items():
                first_error = first_error.replace(url, label)

    expected = set(ALL_IDS if case.expected_ids is None else range(1, case.expected_ids + 1))
    ids = [record.get("id") if isinstance(record, dict) else record for record in received]
    counts = Counter(ids)
    lost = len(expected - set(counts))
    duplicates = sum(count - 1 for count in counts.values())
    unexpected = set(counts) - expected
    if unexpected:
        problems.append(
            f"{len(unexpected)} id(s) outside the expected set, e.g. {sorted(unexpected, key=str)[:3]}"
        )
    if case.max_requests is not None and first_requests > case.max_requests:
        problems.append(f"first call made {first_requests} requests, more than {case.max_requests}")
    if outcome == "reported":
        text = (first_error or "").lower()
        missing = [word for word in case.error_mentions if word.lower() not in text]
        if not first_error:
            problems.append("reported without an error message")
        elif missing:
            problems.append(f"error does not mention {missing}")
        if API_KEY in (first_error or ""):
            problems.append("the API key appears in the error")
    if any(API_KEY in note for note in notes):
        problems.append("the API key appears in the notes")

    if outcome == "survived":
        waited = [note for note in notes if _RETRIED.search(note)]
        reason = "drained in 1 call" + (f"; {waited[0].split(', ', 1)[-1]}" if waited else "")
    else:
        reason = _short(first_error or "stopped")
        if calls > 1:
            reason += f"; complete after {calls - 1} resume(s)"
    return Row(
        fault=case.name,
        style=case.style,
        outcome=outcome,
        reason=reason,
        requests=requests,
        faults_hit=faults_hit,
        retries=_retries_noted(notes),
        lost=lost,
        duplicates=duplicates,
        creds_elsewhere=creds_elsewhere,
        seconds=time.monotonic() - started,
        expected=case.expect,
        calls=calls,
        received=len(ids),
        first_error=first_error,
        first_requests=first_requests,
        notes=notes,
        problems=problems,
    )


def _short(text: str, limit: int = 110) -> str:
    text = " ".join(text.split()).replace("|", "/")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_case(case: FaultCase) -> Row:
    """`run_case_async` from synchronous code (its own event loop)."""
    return anyio.run(run_case_async, case)


# ------------------------------------------------------------------------------------------------
# The table
# ------------------------------------------------------------------------------------------------


def markdown_table(rows: list[Row]) -> str:
    """The rows as a Markdown table, problems (if any) listed after it."""
    lines = [
        "| fault | style | outcome | requests | faults hit | retries (notes) | lost | duplicates "
        "| creds elsewhere | seconds |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        mark = "" if row.ok else " **UNEXPECTED**"
        hit = "-" if row.faults_hit is None else str(row.faults_hit)
        cells = [
            row.fault,
            row.style,
            f"{row.outcome}: {_short(row.reason, 140)}{mark}",
            str(row.requests),
            hit,
            str(row.retries),
            str(row.lost),
            str(row.duplicates),
            str(row.creds_elsewhere),
            f"{row.seconds:.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    for row in rows:
        for problem in row.problems:
            lines.append(f"\n- {row.fault} / {row.style}: {problem}")
        if row.outcome != row.expected:
            lines.append(f"\n- {row.fault} / {row.style}: expected {row.expected}, got {row.outcome}")
    return "\n".join(lines)


def main() -> int:
    # A client abandoning a streamed answer makes the sample API's event loop log each failed send.
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    started = time.monotonic()
    rows = [run_case(case) for case in CASES]
    print(markdown_table(rows))
    bad = [row for row in rows if not row.ok]
    print(
        f"\n{len(rows)} cases, {len(rows) - len(bad)} as expected, {len(bad)} not; "
        f"lost {sum(r.lost for r in rows)}, duplicates {sum(r.duplicates for r in rows)}, "
        f"credentials elsewhere {sum(r.creds_elsewhere for r in rows)}; {time.monotonic() - started:.1f}s"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
