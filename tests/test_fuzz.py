"""Property-based tests: arbitrary tool arguments and pagination specs through the real MCP client.

Every call goes through an in-memory `mcp.Client` over `create_server(...)` against the
session-wide sample API (no faults). The properties:

- any input yields either a result whose structured content fits the tool's outputSchema, or a
  tool error with an explanation (no traceback, no bare "Error executing tool <name>" that hides a
  crash), never an exception out of the client, never a hang;
- the server keeps serving after every example;
- sandbox-escaping templates never execute;
- well-formed specs over every sample style drain ids 1..237 exactly once, in order, whatever the
  page size, the starting point, the retries and the inline budget.

One event loop (an anyio blocking portal) and one client per module serve all examples; a fixed
pool of real cursors, minted when it starts, is what the cursor strategies mutate. What the fuzzing
found is pinned at the end as deterministic regressions.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import jsonschema
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from mcp import Client

from mcp_paginate.sample import FaultPlan, SampleAPI
from mcp_paginate.server import create_server
from tests.support import ALL_IDS, ALLOY_ENV, sample_config, sample_sources

# Hypothesis keeps caches under .hypothesis in the working directory; keep them out of the repo.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "mcp-paginate-hypothesis")

CALL_TIMEOUT = 10.0
SECRET = ALLOY_ENV["ALLOY_API_KEY"]
SOURCES = sorted(sample_sources("http://127.0.0.1:1"))

SCALE = float(os.environ.get("MCP_PAGINATE_FUZZ_SCALE", "1"))
"""Multiplies every example count, for a deeper run by hand (e.g. 20); CI uses 1 (under 60 s)."""


def examples(count: int) -> int:
    return max(1, round(count * SCALE))


FUZZ = settings(
    max_examples=examples(50),
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
DRAIN = settings(
    max_examples=examples(20),
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# Signs that a Python object or an internal failure leaked into text an assistant reads.
LEAKS = (
    "<class ",
    "<function ",
    "<module ",
    "<built-in",
    "<bound method",
    "<cell ",
    "uid=",
    "'__builtins__'",
)
INTERNAL = re.compile(
    r"object has no attribute|object is not subscriptable|list index out of range|unhashable type|"
    r"'NoneType' object|unsupported operand|positional argument|is not JSON serializable|"
    r"maximum recursion|object is not iterable|argument of type|not supported between instances"
)


# --------------------------------------------------------------------------------------------
# One client per module, on one event loop in a portal thread
# --------------------------------------------------------------------------------------------


class _Crashes(logging.Handler):
    """Collects the server's 'unexpected exception' log records, to show the hidden traceback."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "unexpected" in record.getMessage():
            self.records.append(record)

    def last(self) -> str:
        if not self.records:
            return ""
        return logging.Formatter().format(self.records[-1])


class Served:
    """The module's client, called synchronously through the portal's event loop."""

    def __init__(
        self, portal: BlockingPortal, client: Client, schemas: dict[str, dict[str, Any]], crashes: _Crashes
    ) -> None:
        self.portal, self.client, self.schemas, self.crashes = portal, client, schemas, crashes
        self.cursors: list[str] = []
        """A fixed pool of real cursors, minted when the module's server starts."""
        self.sessions: set[str] = set()
        """Every session id a successful result has shown."""

    def __repr__(self) -> str:
        return f"Served({len(self.cursors)} cursors, {len(self.sessions)} sessions)"

    def call(self, tool: str, args: dict[str, Any]) -> Any:
        return self.portal.call(self._call, tool, args)

    async def _call(self, tool: str, args: dict[str, Any]) -> Any:
        with anyio.fail_after(CALL_TIMEOUT):
            return await self.client.call_tool(tool, args)

    def read(self, uri: str) -> Any:
        return self.portal.call(self._read, uri)

    async def _read(self, uri: str) -> Any:
        with anyio.fail_after(CALL_TIMEOUT):
            return await self.client.read_resource(uri)


def _serve(api: SampleAPI, **server: Any) -> Iterator[Served]:
    crashes = _Crashes()
    logging.getLogger().addHandler(crashes)
    try:
        with start_blocking_portal(backend="asyncio") as portal:
            mcp_server = create_server(sample_config(api.url, **server), "memory://", environ=ALLOY_ENV)
            with portal.wrap_async_context_manager(Client(mcp_server)) as client:
                listed = portal.call(client.list_tools)
                schemas = {t.name: t.output_schema for t in listed.tools if t.output_schema}
                served = Served(portal, client, schemas, crashes)
                _mint_cursors(served)
                yield served
    finally:
        logging.getLogger().removeHandler(crashes)
    # Nothing we sent may have changed the shared sample API's behaviour.
    assert api.faults == FaultPlan()


def _mint_cursors(served: Served) -> None:
    """Real cursors of several modes: first pages, next pages, inside-a-page continuations."""
    for source in ("offset_total", "body_token", "link_header", "starting_after", "pages_capped"):
        first = check_outcome(served, "list_page", served.call("list_page", {"source": source}))
        assert first is not None and first["next_cursor"]
        second = check_outcome(
            served, "list_page", served.call("list_page", {"cursor": first["next_cursor"]})
        )
        assert second is not None
        served.cursors += [first["cursor"], first["next_cursor"], second["next_cursor"] or second["cursor"]]
    for limits in ({"max_pages": 1}, {"max_records": 5}):
        drained = check_outcome(
            served, "fetch_all", served.call("fetch_all", {"source": "body_token", **limits})
        )
        assert drained is not None and drained["next_cursor"]
        served.cursors.append(drained["next_cursor"])
    assert any(cursor.count(".") == 2 for cursor in served.cursors), "no inside-a-page cursor minted"


@pytest.fixture(scope="module")
def served(sample_api: SampleAPI) -> Iterator[Served]:
    yield from _serve(sample_api)


@pytest.fixture(scope="module")
def tight(sample_api: SampleAPI) -> Iterator[Served]:
    """A server whose inline budget (the minimum, 1000 chars) cuts most pages short."""
    yield from _serve(sample_api, max_inline_chars=1000)


# --------------------------------------------------------------------------------------------
# The outcome every call must have
# --------------------------------------------------------------------------------------------


def _texts(result: Any) -> str:
    return "\n".join(block.text for block in result.content if getattr(block, "text", None))


def check_outcome(
    served: Served, tool: str, result: Any, args: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """Assert the result is a schema-valid success or an explained tool error; the data if success.

    ``args`` (what was sent) lets an error message quote the caller's own input without that
    counting as a leak.
    """
    text = _texts(result)
    dumped = text + json.dumps(result.structured_content, default=str)
    sent = json.dumps(args or {}, default=str)
    assert SECRET not in dumped, "the API key reached the assistant"
    for leak in LEAKS:
        assert leak not in dumped or leak in sent, f"{leak!r} leaked into the output: {dumped[:500]}"
    if result.is_error:
        assert text.strip(), "a tool error without a message"
        assert "Traceback" not in text and 'File "' not in text, text
        explanation = text.strip().removeprefix(f"Error executing tool {tool}").strip(" :")
        assert explanation, f"an unexplained crash (the server logged):\n{served.crashes.last()}"
        assert re.search(r"[A-Za-z]{3}", explanation), text
        if INTERNAL.search(explanation):
            # Python's words are fine inside our context ("template '…' failed: TypeError: …"),
            # not on their own.
            assert re.search(r"template|stop_condition|path", explanation), f"an internal error: {text}"
        return None
    data = result.structured_content
    assert isinstance(data, dict), text
    jsonschema.validate(data, served.schemas[tool])
    if tool == "list_page":
        assert data["page"]["size"] == len(data["records"])
        assert data["has_more"] == (data["next_cursor"] is not None)
        assert data["cursor"] and data["cursor"] != data["next_cursor"]
        served.sessions.add(data["cursor"].split(".")[0])
    elif tool == "fetch_all":
        assert data["returned"] == len(data["records"]) <= data["count"]
        assert data["complete"] == (data["stop_reason"] == "exhausted")
        if data["stop_reason"] == "error":
            assert data["error"], "stop_reason error without an error message"
        assert data["results_uri"].startswith("mcp-paginate://results/")
        if data["next_cursor"]:
            served.sessions.add(data["next_cursor"].split(".")[0])
    return data


def still_serves(served: Served) -> None:
    data = check_outcome(served, "list_page", served.call("list_page", {"source": "offset_total"}))
    assert data is not None, "the server stopped serving a plain list_page"
    assert [r["id"] for r in data["records"]] == ALL_IDS[:40]


def _kind(result: Any) -> str:
    if not result.is_error:
        return "success"
    text = _texts(result)
    return (
        "invalid arguments" if "validation error" in text else "refused: " + text.split(":")[1].strip()[:40]
    )


def call_and_check(served: Served, tool: str, args: dict[str, Any]) -> dict[str, Any] | None:
    result = served.call(tool, args)
    data = check_outcome(served, tool, result, args)
    event(f"{tool}: {_kind(result)}")
    still_serves(served)
    return data


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------

ODD_TEXT = [
    "",
    " ",
    ".",
    "..",
    "a..b",
    "id.",
    ".id",
    "__class__",
    "id.__class__",
    "{{ 7*7 }}",
    "${ALLOY_API_KEY}",
    "$ALLOY_API_KEY",
    "\x00",
    "\r\n",
    "ü",
    "😀",
    "[[",
    "*",
    "@",
    "a" * 300,
    "../../etc/passwd",
    "%00",
    "id\r\nX-Injected: 1",
    "offset_total ",
    "OFFSET_TOTAL",
]
odd_text = st.sampled_from(ODD_TEXT) | st.text(max_size=30)
big_ints = st.integers(min_value=-(2**70), max_value=2**70)
json_scalars = (
    st.none() | st.booleans() | big_ints | st.floats(allow_nan=False, allow_infinity=False) | odd_text
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=4),
    max_leaves=10,
)
sizes = (
    st.integers(min_value=-5, max_value=130)
    | big_ints
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["10", "abc", "", "1e3", "-1"])
    | json_values
)

VALID_PATHS = [
    "total",
    "items",
    "data",
    "results",
    "@",
    "meta.next_token",
    "has_more",
    "pagination.hasMore",
    "pagination.nextOffset",
    "next",
    "total_pages",
    "length(items)",
    "`true`",
    "`false`",
    "`null`",
    "items[-1].id",
    "id",
]
BAD_PATHS = ["[[", "foo[", "a.", "`", "&&", "items[?", "length(", "'unterminated"]
paths = st.sampled_from(VALID_PATHS + BAD_PATHS) | odd_text

VALID_TEMPLATES = [
    "{{ offset }}",
    "{{ offset }},{{ page_size }}",
    "{{ page }}",
    "{{ cursor }}",
    "{{ value }}",
    "{{ page_size }}",
    "{{ last_records[-1]['id'] }}",
    "{{ response.meta.next_token }}",
    "{{ headers['x-next-cursor'] }}",
    "{{ records_so_far }}",
    "{{ response.total <= records_so_far }}",
    "{{ last_page_size == 0 }}",
    "page_number > 3",
    "{{ 1/0 }}",
    "{{ offset + 'a' }}",
    "{{ missing.deeper.still }}",
    "{{ undefined_name }}",
    "plain text",
]
SYNTAX_ERRORS = [
    "{{ offset",
    "{% for %}",
    "{{ }}",
    "{% if x %}",
    "{{ a b }}",
    "{# open",
    "{{ 'x' | nofilter }}",
]
ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ self.__init__.__globals__ }}",
    "{{ request.__class__ }}",
    "{{ config.items() }}",
    "{{ response.__class__.__base__ }}",
    "{{ [].__class__.__base__.__subclasses__() }}",
    "{{ ().__class__.__bases__[0].__subclasses__() }}",
    "{{ response.update({'x': 1}) }}",
    "{{ last_records.append(1) }}",
    "{% set x = ''.__class__ %}{{ x }}",
    "{{ '%s' % ''.__class__ }}",
    "{{ '{0.__class__}'.format('') }}",
]
templates = st.sampled_from(VALID_TEMPLATES + SYNTAX_ERRORS + ESCAPES) | odd_text


def _no_control_paths(value: Any) -> bool:
    """Keep fuzzed specs off the sample API's control endpoints (/_faults, /_stats)."""
    return "_faults" not in json.dumps(value) and "_stats" not in json.dumps(value)


request_options = st.one_of(
    st.none(),
    json_values,
    st.fixed_dictionaries(
        {"in": st.sampled_from(["query", "header", "body", "url", "path", "cookie", "", "QUERY"]) | odd_text},
        optional={
            "name": odd_text | st.sampled_from(["limit", "offset", "input.offset", "a.b.c"]),
            "template": templates,
        },
    ),
)
next_cursors = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "body": paths,
            "header": odd_text | st.sampled_from(["X-Next-Cursor", "Link"]),
            "link": odd_text | st.just("next"),
            "last_record": paths,
            "template": templates,
            "bogus": json_values,
        },
    ),
)
MODES = ["offset", "page", "cursor", "none", "auto"]
spec_fields = {
    "page_size": sizes,
    "limit_param": request_options,
    "offset_param": request_options,
    "size_param": request_options,
    "page_param": request_options,
    "cursor_param": request_options,
    "start_offset": sizes,
    "start_page": sizes,
    "start_cursor": odd_text,
    "next_offset": paths,
    "next": next_cursors,
    "has_more": paths,
    "total": paths,
    "total_pages": paths,
    "stop_condition": templates,
    "unknown_field": json_values,
}
pagination_specs = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"mode": st.sampled_from(MODES) | odd_text | json_values},
        optional=spec_fields,
    ),
).filter(_no_control_paths)

# Plausible specs: the right fields for each mode, mostly sensible values, some odd ones. These get
# past validation and reach the sample API, where the paging logic itself is exercised.
PARAM_NAMES = [
    "limit",
    "offset",
    "page",
    "page_size",
    "per_page",
    "cursor",
    "max_results",
    "pagination_token",
    "starting_after",
    "X-Page",
    "input.offset",
]
small_sizes = st.integers(min_value=1, max_value=150)
good_paths = st.sampled_from(VALID_PATHS)
some_paths = good_paths | good_paths | st.sampled_from(BAD_PATHS)
some_templates = (
    st.sampled_from(VALID_TEMPLATES) | st.sampled_from(VALID_TEMPLATES) | st.sampled_from(ESCAPES)
)
plausible_options = st.fixed_dictionaries(
    {"in": st.sampled_from(["query", "query", "header", "body"]), "name": st.sampled_from(PARAM_NAMES)},
    optional={"template": some_templates},
)
mode_fields: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "offset": {
        "limit_param": st.none() | plausible_options,
        "offset_param": plausible_options,
        "start_offset": st.integers(min_value=0, max_value=300),
        "next_offset": some_paths,
        "total": some_paths,
    },
    "page": {
        "size_param": st.none() | plausible_options,
        "page_param": plausible_options,
        "start_page": st.integers(min_value=0, max_value=12),
        "total": some_paths,
        "total_pages": some_paths,
    },
    "cursor": {
        "size_param": st.none() | plausible_options,
        "cursor_param": plausible_options | st.just({"in": "url"}),
        "start_cursor": st.sampled_from(["", "abc", "0", "/link?page=2", "http://example.com/x"]),
        "next": st.one_of(
            st.builds(lambda v: {"body": v}, some_paths),
            st.builds(
                lambda v: {"header": v}, st.sampled_from(["X-Next-Cursor", "Link", "X-Missing", "Date"])
            ),
            st.builds(lambda v: {"link": v}, st.sampled_from(["next", "last", "prev", "first", "nope"])),
            st.builds(lambda v: {"last_record": v}, some_paths),
            st.builds(lambda v: {"template": v}, some_templates),
        ),
    },
    "none": {},
    "auto": {},
}
for _mode in ("offset", "page", "cursor"):
    mode_fields[_mode] |= {"has_more": some_paths, "stop_condition": some_templates}
plausible_specs = st.one_of(
    *(
        st.fixed_dictionaries(
            {"mode": st.just(mode)} | ({"next": fields["next"]} if "next" in fields else {}),
            optional={"page_size": small_sizes} | {k: v for k, v in fields.items() if k != "next"},
        )
        for mode, fields in mode_fields.items()
    )
)


ad_hoc_requests = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {
            "url": st.sampled_from(
                [
                    "file:///etc/passwd",
                    "javascript:alert(1)",
                    "data:text/plain,hi",
                    "ftp://127.0.0.1/",
                    "http://localhost/offset",
                    "http://127.0.0.1:1/offset",
                    "http://[::1]/",
                    "http://169.254.169.254/latest/meta-data/",
                    "http://0x7f000001/",
                    "https://example.com/items",
                    "http://user:pass@example.com/",
                    "//example.com/x",
                    "/offset",
                    "",
                ]
            )
            | odd_text
        },
        optional={
            "method": st.sampled_from(["GET", "POST", "DELETE", "get", "TRACE", ""]) | odd_text,
            "headers": st.dictionaries(odd_text, odd_text, max_size=3) | json_values,
            "query": st.dictionaries(odd_text, json_scalars, max_size=3) | json_values,
            "body": json_values,
            "records": paths,
            "extra": json_values,
        },
    ),
)


Recipe = str | tuple[int, int, int]

cursor_recipes: st.SearchStrategy[Recipe] = st.one_of(
    odd_text,
    st.builds(
        lambda sid, page, skip: f"{sid}.{page}" + (f".{skip}" if skip is not None else ""),
        st.text(alphabet="abcXYZ019_-", min_size=22, max_size=26),
        st.integers(min_value=0, max_value=10**10),
        st.none() | st.integers(min_value=0, max_value=10**10),
    ),
    st.tuples(st.integers(0, 999), st.integers(0, 9), st.integers(0, 10**6)),
)
"""Random text, near-valid shapes, and (index, how, number): a real cursor from the pool, mutated."""


def resolve_cursor(recipe: Recipe, pool: list[str]) -> str:
    if isinstance(recipe, str):
        return recipe
    index, how, number = recipe
    cursor = pool[index % len(pool)]
    session = cursor.split(".")[0]
    return [
        cursor,
        f"{session}.{number}",
        f"{session}.0.{number}",
        f"{session}.{number}.{number}",
        f" {cursor} ",
        cursor + ".",
        cursor.upper(),
        session[:-1] + ("A" if session[-1] != "A" else "B") + ".0",
        f"{session}.-1",
        f"{session}.{number}.0",
    ][how]


def tool_args(*, fetch: bool) -> st.SearchStrategy[dict[str, Any]]:
    optional: dict[str, st.SearchStrategy[Any]] = {
        "source": st.sampled_from(SOURCES) | odd_text | json_values,
        "params": st.none() | st.dictionaries(odd_text, json_values, max_size=3) | json_values,
        "page_size": sizes,
        "fields": st.none()
        | st.lists(odd_text | st.sampled_from(["id", "name", "owner.email", "id.x", "email"]), max_size=4)
        | json_values,
        "cursor": st.none() | cursor_recipes,
        "pagination": st.none() | pagination_specs,
        "request": st.none() | ad_hoc_requests,
    }
    if fetch:
        optional |= {
            "max_records": sizes,
            "max_pages": st.integers(min_value=-3, max_value=4) | sizes,
            "dedupe_key": st.none() | odd_text | st.sampled_from(["id", "group", "a.b"]) | json_values,
        }
    return st.fixed_dictionaries({}, optional=optional)


def bounded(args: dict[str, Any]) -> dict[str, Any]:
    """Keep a fuzzed fetch_all from draining tiny pages for long: at most 40 pages."""
    pages = args.get("max_pages")
    numeric = isinstance(pages, int | float) and not isinstance(pages, bool)
    if pages is None or (numeric and pages > 40) or (isinstance(pages, str) and pages.strip().isdigit()):
        args = {**args, "max_pages": 40}
    return args


# --------------------------------------------------------------------------------------------
# Arbitrary arguments
# --------------------------------------------------------------------------------------------


@FUZZ
@given(args=tool_args(fetch=False).filter(_no_control_paths))
def test_list_page_with_any_arguments_succeeds_or_explains(served: Served, args: dict[str, Any]) -> None:
    if args.get("cursor") is not None:
        args["cursor"] = resolve_cursor(args["cursor"], served.cursors)
    call_and_check(served, "list_page", args)


@FUZZ
@given(args=tool_args(fetch=True).filter(_no_control_paths))
def test_fetch_all_with_any_arguments_succeeds_or_explains(served: Served, args: dict[str, Any]) -> None:
    if args.get("cursor") is not None:
        args["cursor"] = resolve_cursor(args["cursor"], served.cursors)
    call_and_check(served, "fetch_all", bounded(args))


@FUZZ
@given(
    source=st.sampled_from(SOURCES),
    spec=pagination_specs,
    page_size=st.none() | sizes,
    tool=st.sampled_from(["list_page", "fetch_all"]),
)
def test_any_pagination_spec_on_a_source_succeeds_or_explains(
    served: Served, source: str, spec: Any, page_size: Any, tool: str
) -> None:
    args: dict[str, Any] = {"source": source, "pagination": spec, "fields": ["id"]}
    if page_size is not None:
        args["page_size"] = page_size
    if tool == "fetch_all":
        args = bounded(args)
    data = call_and_check(served, tool, args)
    if data is not None and tool == "list_page" and data["next_cursor"]:
        # The session it started continues, or explains why not.
        check_outcome(served, "list_page", served.call("list_page", {"cursor": data["next_cursor"]}))


@FUZZ
@given(
    request=ad_hoc_requests,
    spec=st.none() | pagination_specs,
    tool=st.sampled_from(["list_page", "fetch_all"]),
)
def test_ad_hoc_requests_are_refused_without_allowed_hosts(
    served: Served, request: Any, spec: Any, tool: str
) -> None:
    args: dict[str, Any] = {"request": request}
    if spec is not None:
        args["pagination"] = spec
    result = served.call(tool, args)
    check_outcome(served, tool, result, args)
    assert result.is_error, "an ad-hoc request went out although allowed_hosts is empty"
    still_serves(served)


@FUZZ
@given(recipe=cursor_recipes, tool=st.sampled_from(["list_page", "fetch_all"]))
def test_random_and_mutated_cursors_succeed_or_explain(served: Served, recipe: Recipe, tool: str) -> None:
    cursor = resolve_cursor(recipe, served.cursors)
    args = bounded({"cursor": cursor}) if tool == "fetch_all" else {"cursor": cursor}
    data = call_and_check(served, tool, args)
    if data is not None:
        # Only a cursor this server minted (give or take whitespace) may lead anywhere.
        session = cursor.strip().split(".")[0]
        assert any(c.split(".")[0] == session for c in served.cursors)
        if tool == "list_page":
            assert data["cursor"].split(".")[0] == session


# --------------------------------------------------------------------------------------------
# Sandbox escapes, deterministically, in every template slot
# --------------------------------------------------------------------------------------------

TEMPLATE_SLOTS: dict[str, Callable[[str], dict[str, Any]]] = {
    "stop_condition": lambda t: {"mode": "offset", "total": "total", "stop_condition": t},
    "offset_template": lambda t: {
        "mode": "offset",
        "offset_param": {"in": "query", "name": "offset", "template": t},
    },
    "limit_template": lambda t: {
        "mode": "offset",
        "limit_param": {"in": "query", "name": "limit", "template": t},
    },
    "next_template": lambda t: {
        "mode": "cursor",
        "next": {"template": t},
        "cursor_param": {"in": "query", "name": "c"},
    },
}


@pytest.mark.parametrize("slot", sorted(TEMPLATE_SLOTS))
@pytest.mark.parametrize("template", ESCAPES)
def test_sandbox_escapes_never_execute(served: Served, slot: str, template: str) -> None:
    spec = TEMPLATE_SLOTS[slot](template)
    for tool in ("list_page", "fetch_all"):
        args = {"source": "offset_total", "pagination": spec, "fields": ["id"]}
        args = bounded(args) if tool == "fetch_all" else args
        check_outcome(served, tool, served.call(tool, args), args)
    still_serves(served)


# --------------------------------------------------------------------------------------------
# Plausible specs: past validation, into the paging logic
# --------------------------------------------------------------------------------------------


def _ids(records: list[Any]) -> list[Any]:
    return [r.get("id") for r in records if isinstance(r, dict)]


@FUZZ
@given(
    source=st.sampled_from(SOURCES),
    spec=plausible_specs,
    page_size=st.none() | small_sizes,
    fields=st.none() | st.sampled_from([["id"], ["id", "name"], ["id", "nope.deeper"]]),
    steps=st.integers(min_value=0, max_value=3),
)
def test_plausible_specs_page_contiguous_records_or_explain(
    served: Served, source: str, spec: dict[str, Any], page_size: int | None, fields: Any, steps: int
) -> None:
    args: dict[str, Any] = {"source": source, "pagination": spec}
    if page_size is not None:
        args["page_size"] = page_size
    if fields is not None:
        args["fields"] = fields
    data = call_and_check(served, "list_page", args)
    for _ in range(steps):
        if data is None or not data["next_cursor"]:
            break
        cursor = data["next_cursor"]
        ids = _ids(data["records"])
        # A page of the sample API is always a contiguous run of its records.
        assert ids == sorted(set(ids)) and all(1 <= i <= 237 for i in ids), ids
        data = check_outcome(served, "list_page", served.call("list_page", {"cursor": cursor}))
        if data is not None:
            again = check_outcome(served, "list_page", served.call("list_page", {"cursor": cursor}))
            assert again is not None and again["records"] == data["records"], "a re-read differed"


@FUZZ
@given(
    source=st.sampled_from(SOURCES),
    spec=plausible_specs,
    page_size=st.none() | small_sizes,
    max_pages=st.integers(min_value=1, max_value=12),
    max_records=st.none() | st.integers(min_value=1, max_value=300),
    dedupe=st.booleans(),
)
def test_plausible_specs_drain_within_limits_or_explain(
    served: Served,
    source: str,
    spec: dict[str, Any],
    page_size: int | None,
    max_pages: int,
    max_records: int | None,
    dedupe: bool,
) -> None:
    args: dict[str, Any] = {"source": source, "pagination": spec, "fields": ["id"], "max_pages": max_pages}
    if page_size is not None:
        args["page_size"] = page_size
    if max_records is not None:
        args["max_records"] = max_records
    if dedupe:
        args["dedupe_key"] = "id"
    data = call_and_check(served, "fetch_all", args)
    if data is None:
        return
    assert data["pages"] <= max_pages
    if max_records is not None:
        assert data["count"] <= max_records
    if data["stop_reason"] in ("max_pages", "max_records"):
        assert data["next_cursor"], f"stopped ({data['stop_reason']}) without a cursor to resume from"
    if data["stop_reason"] == "error" and data["next_cursor"] is None:
        # Only a loop is not worth resuming.
        loop = r"already visited|loop|empty pages|ignored the position"
        assert re.search(loop, data["error"]), data["error"]
    if data["stop_reason"] == "exhausted":
        assert data["next_cursor"] is None
    ids = _ids(data["records"])
    assert all(isinstance(i, int) and 1 <= i <= 237 for i in ids), ids
    if dedupe:
        assert len(ids) == len(set(ids)), "dedupe_key='id' let a duplicate through"


# --------------------------------------------------------------------------------------------
# Well-formed specs over every sample style: every record exactly once, in order
# --------------------------------------------------------------------------------------------


def all_fetched(served: Served, data: dict[str, Any]) -> list[Any]:
    """Every record a fetch_all stored: inline if all fit, else from its results resource."""
    records: list[Any]
    if data["returned"] == data["count"]:
        records = data["records"]
        return records
    contents = served.read(data["results_uri"]).contents
    stored = json.loads(getattr(contents[0], "text", "null"))
    assert stored["count"] == data["count"]
    records = stored["records"]
    return records


@settings(DRAIN, max_examples=examples(15))
@given(
    source=st.sampled_from(SOURCES),
    page_size=st.integers(min_value=1, max_value=120),
    steps=st.integers(min_value=0, max_value=3),
)
def test_fetch_all_from_any_start_returns_every_id_once_in_order(
    served: Served, source: str, page_size: int, steps: int
) -> None:
    """list_page a few pages, then fetch_all from there: together, ids 1..237 exactly once."""
    ids: list[Any] = []
    data = structured_ok(served, "list_page", {"source": source, "page_size": page_size, "fields": ["id"]})
    ids += _ids(data["records"])
    for _ in range(steps):
        if not data["next_cursor"]:
            break
        data = structured_ok(served, "list_page", {"cursor": data["next_cursor"]})
        ids += _ids(data["records"])
    if data["next_cursor"]:
        drained = structured_ok(served, "fetch_all", {"cursor": data["next_cursor"]})
        assert drained["stop_reason"] == "exhausted" and drained["complete"], drained["error"]
        assert drained["next_cursor"] is None
        ids += _ids(all_fetched(served, drained))
    assert ids == ALL_IDS


@DRAIN
@given(source=st.sampled_from(SOURCES), page_size=st.integers(min_value=1, max_value=120))
def test_fetch_all_from_the_start_returns_every_id_once_in_order(
    served: Served, source: str, page_size: int
) -> None:
    data = structured_ok(served, "fetch_all", {"source": source, "page_size": page_size, "fields": ["id"]})
    assert data["complete"] and data["stop_reason"] == "exhausted", data["error"]
    assert data["count"] == len(ALL_IDS)
    assert _ids(all_fetched(served, data)) == ALL_IDS


def structured_ok(served: Served, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = served.call(tool, args)
    data = check_outcome(served, tool, result, args)
    assert data is not None, f"{tool}({args}) failed: {_texts(result)}"
    return data


ACTIONS = st.lists(st.sampled_from(["next", "next", "next", "again", "back"]), min_size=1, max_size=40)


def step_through(served: Served, first: dict[str, Any], actions: list[str]) -> list[Any]:
    """Follow next_cursor, re-reading the current or the previous result now and then.

    Re-reads (a retried or lost tool call) must give back exactly what that cursor gave before;
    the records of the forward steps must be the whole data set, once, in order.
    """
    seen: dict[str, list[Any]] = {first["cursor"]: first["records"]}
    trail = [first]
    collected = list(first["records"])
    for action in actions:
        current = trail[-1]
        if action == "next":
            if not current["next_cursor"]:
                break
            data = structured_ok(served, "list_page", {"cursor": current["next_cursor"]})
            assert data["cursor"] == current["next_cursor"]
            assert data["cursor"] not in seen, "a next_cursor named a result already read"
            seen[data["cursor"]] = data["records"]
            trail.append(data)
            collected += data["records"]
        else:
            target = current if action == "again" or len(trail) == 1 else trail[-2]
            data = structured_ok(served, "list_page", {"cursor": target["cursor"]})
            assert data["records"] == seen[target["cursor"]], "re-reading a cursor gave different records"
            assert data["next_cursor"] == target["next_cursor"]
    # Out of actions: finish forward so the whole set can be checked.
    while trail[-1]["next_cursor"] and len(trail) < 400:
        data = structured_ok(served, "list_page", {"cursor": trail[-1]["next_cursor"]})
        trail.append(data)
        collected += data["records"]
    return collected


@settings(DRAIN, max_examples=examples(15))
@given(source=st.sampled_from(SOURCES), page_size=st.integers(min_value=3, max_value=120), actions=ACTIONS)
def test_list_page_steps_and_retries_never_skip_or_repeat(
    served: Served, source: str, page_size: int, actions: list[str]
) -> None:
    first = structured_ok(served, "list_page", {"source": source, "page_size": page_size, "fields": ["id"]})
    assert _ids(step_through(served, first, actions)) == ALL_IDS


@settings(DRAIN, max_examples=examples(8))
@given(
    source=st.sampled_from(SOURCES),
    page_size=st.integers(min_value=3, max_value=120),
    fields=st.sampled_from([None, ["id", "name"], ["id", "email", "group"]]),
    actions=ACTIONS,
)
def test_inline_budget_cuts_never_skip_or_repeat(
    tight: Served, source: str, page_size: int, fields: list[str] | None, actions: list[str]
) -> None:
    """With a 1000-char inline budget most pages are cut; continuing inside a page loses nothing."""
    args: dict[str, Any] = {"source": source, "page_size": page_size}
    if fields:
        args["fields"] = fields
    first = structured_ok(tight, "list_page", args)
    records = step_through(tight, first, actions)
    assert _ids(records) == ALL_IDS
    if fields:
        assert all(set(r) == set(fields) for r in records)


# --------------------------------------------------------------------------------------------
# Regressions for what the fuzzing found
# --------------------------------------------------------------------------------------------

LENIENT_SLOTS = ["stop_condition", "next_template"]
"""Template slots rendered leniently (missing values render empty)."""


@pytest.mark.parametrize("slot", LENIENT_SLOTS)
@pytest.mark.parametrize(
    "template",
    ["{{ cycler.__init__.__globals__ }}", "{{ ''.__class__.__mro__ }}", "{{ response.__class__ }}"],
)
def test_sandbox_escape_in_a_lenient_template_is_a_tool_error(
    served: Served, slot: str, template: str
) -> None:
    args = {"source": "offset_total", "pagination": TEMPLATE_SLOTS[slot](template), "fields": ["id"]}
    result = served.call("list_page", args)
    check_outcome(served, "list_page", result, args)
    assert result.is_error, f"the escape attempt was accepted: {_texts(result)[:200]}"
    assert "unsafe" in _texts(result)


def test_a_template_that_builds_a_huge_value_is_refused(served: Served) -> None:
    spec = {"mode": "offset", "total": "total", "stop_condition": "{{ ('x' * 10**8) | length == 0 }}"}
    args = {"source": "offset_total", "pagination": spec, "fields": ["id"]}
    result = served.call("list_page", args)
    check_outcome(served, "list_page", result, args)
    assert result.is_error, "a template allocating 100 MB was rendered"


@pytest.mark.parametrize(
    "condition",
    [
        "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}false",
        "{% for c in 'x' * 20000 %}{% endfor %}false",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(20) }}false",
        "{% set big = range(90) | list * 1000 %}{% for i in range(9) %}{{ big|sort|length }}{% endfor %}",
    ],
    ids=["nested-ranges", "built-string", "doubling-macro", "filter-in-a-loop"],
)
def test_a_template_past_its_work_budget_is_refused(served: Served, condition: str) -> None:
    # Each of these holds the event loop (every other call waits) for as long as it runs.
    args = {"source": "offset_total", "pagination": {"mode": "offset", "stop_condition": condition}}
    result = served.call("list_page", args)
    check_outcome(served, "list_page", result, args)
    assert result.is_error, "a template doing a million steps was rendered"
    # The step budget stops each; on a loaded machine the time bound (1 s) may stop one first.
    said = _texts(result)
    assert "stop_condition" in said and ("more than 10,000 steps" in said or "ran for more than 1 s" in said)


def test_a_template_past_its_work_budget_ends_fetch_all_keeping_the_pages_before(served: Served) -> None:
    loops = "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}"
    condition = "{% if page_number > 0 %}" + loops + "{% endif %}false"
    spec = {"mode": "offset", "total": "total", "page_size": 40, "stop_condition": condition}
    args = {"source": "offset_total", "pagination": spec, "fields": ["id"]}
    result = served.call("fetch_all", args)
    data = check_outcome(served, "fetch_all", result, args)
    assert data is not None and data["stop_reason"] == "error" and not data["complete"]
    assert "stop_condition" in data["error"] and "more than 10,000 steps" in data["error"]
    assert [record["id"] for record in data["records"]] == ALL_IDS[:40]


def test_a_template_looping_over_the_page_renders_within_its_budget(served: Served) -> None:
    condition = (
        "{% for r in last_records %}{% if loop.last and loop.length < 40 %}true{% endif %}{% endfor %}"
    )
    spec = {"mode": "offset", "page_size": 40, "stop_condition": condition}
    args = {"source": "offset_total", "pagination": spec, "fields": ["id"]}
    data = check_outcome(served, "fetch_all", result := served.call("fetch_all", args), args)
    assert data is not None, _texts(result)
    assert [record["id"] for record in data["records"]] == ALL_IDS and data["complete"]


def test_a_loop_stop_does_not_tell_the_assistant_to_resume_with_a_missing_cursor(served: Served) -> None:
    # The Alloy endpoint ignores a query cursor: page 2 is page 1 again (and its last id repeats).
    args = {
        "source": "alloy_style",
        "pagination": {"mode": "cursor", "next": {"last_record": "id"}},
        "fields": ["id"],
    }
    result = served.call("fetch_all", args)
    data = check_outcome(served, "fetch_all", result, args)
    assert data is not None and data["stop_reason"] == "error" and data["next_cursor"] is None
    assert "came back with exactly the records of page 1" in data["error"]
    assert "resume with next_cursor" not in result.content[0].text


def test_a_page_repeated_because_the_api_ignored_the_cursor_is_not_kept_twice(served: Served) -> None:
    # The Alloy endpoint ignores a query cursor: page 2 is page 1 again, and its last id is the cursor.
    args = {
        "source": "alloy_style",
        "pagination": {"mode": "cursor", "next": {"last_record": "id"}, "page_size": 10},
        "fields": ["id"],
    }
    result = served.call("fetch_all", args)
    data = check_outcome(served, "fetch_all", result, args)
    assert data is not None and data["stop_reason"] == "error"
    assert [record["id"] for record in data["records"]] == ALL_IDS[:10]
    assert data["count"] == 10
    assert any("not kept twice" in note for note in data["notes"])
