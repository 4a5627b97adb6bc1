"""The engine: sessions made executable, and one page as one step in three parts.

`Engine.open` turns a paging tool's arguments (`PagingArguments`) into a `Plan` (the
resolved request, with secrets, never stored) and the `Position` to read from: a new
session, or the page a cursor names. A page is then one step::

    outgoing = engine.prepare(plan, number, state)   # the request: position applied, policy checked
    response = await engine.send(plan, outgoing)     # HTTP, within the source's throttle
    page = engine.interpret(plan, outgoing, response)  # pure: records, next state, loops
    page = await engine.commit(plan, page)           # one store call: where the next page is

`Engine.fetch` runs the first three (a page not yet stored); `list_page` commits at once,
`mcp_paginate.streaming` commits when a page is known to be the one sequential paging reads.
So every page reached can be re-read and continued from any process sharing the store.

Termination is by construction: every mode has a stop rule, a position seen before
in the session ends paging (a loop, found by `commit`), runs of empty pages end it, and
the callers cap pages, records and time.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
from pydantic import ValidationError

from mcp_paginate.alloy import prepare_pagination
from mcp_paginate.alloy.forms import refused_both_forms, single_form_first_page
from mcp_paginate.app import AppContext
from mcp_paginate.arguments import PagingArguments
from mcp_paginate.config import SourceConfig, check_path_options
from mcp_paginate.errors import (
    CursorError,
    InputError,
    PaginationLoopError,
    ResponseShapeError,
    UnknownSourceError,
    UpstreamStatusError,
)

# The request room and HTTP: the only names this module takes from `mcp_paginate.http`
# (used in `_resolve_plan`, `Engine.send` and the page's log).
from mcp_paginate.http import HttpResponse, OriginPolicy, RequestLog, origin_of
from mcp_paginate.paginators import (
    AutoPagination,
    ConcretePagination,
    CursorPagination,
    NoPagination,
    OffsetPagination,
    PagePagination,
    PageView,
    PreparedRequest,
    State,
)
from mcp_paginate.paginators.probe import detect_scheme
from mcp_paginate.probing import pending_first_page, probe_second_page, refused_probe, repeated_page
from mcp_paginate.records import extract_records, fields_note, records_digest
from mcp_paginate.requests import resolve_ad_hoc, resolve_source
from mcp_paginate.sessions import SessionRecord, format_cursor, new_id, parse_cursor
from mcp_paginate.throttle import Throttle

__all__ = ["Engine", "Outgoing", "Page", "Plan", "Position"]

MAX_EMPTY_RUN = 3
"""Empty pages in a row, while the API says there is more, before paging stops."""

PAST_THE_END_STATUSES = frozenset({400, 404, 416})
"""How many APIs refuse a page past their last one (Django REST Framework: 404 "Invalid page.";
others 400 "offset out of range" or 416): the end of the data when that page was only asked for
to check a short page."""


@dataclass
class Plan:
    """A session ready to run: resolved request (with secrets), policy and throttle."""

    session: SessionRecord
    name: str
    request: PreparedRequest
    records_path: str | None
    policy: OriginPolicy
    throttle: Throttle
    pool: str
    """The source's connection pool (and throttle) key."""
    source: SourceConfig | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def pagination(self) -> ConcretePagination | AutoPagination:
        return self.session.pagination

    def cursor(self, number: int, skip: int = 0) -> str:
        return format_cursor(self.session.id, number, skip)


@dataclass(frozen=True)
class Position:
    """Where reading starts: page ``number`` (whose stored state is ``state``), after its first
    ``skip`` records."""

    number: int
    skip: int
    state: State


@dataclass
class Outgoing:
    """One page's request, ready to send (`Engine.prepare`), and what sending it took."""

    number: int
    state: State
    """The position asked for (an auto session's first page: from where detection says it began)."""
    request: PreparedRequest
    records_so_far: int = 0
    log: RequestLog = field(default_factory=RequestLog)
    """Requests, retries and waits behind this page (its notes carry the summary)."""


@dataclass
class Page:
    """One fetched page and what follows it."""

    number: int
    state: State
    records: list[Any]
    next_state: State | None
    """Where the next page is: not stored yet after `Engine.interpret`, stored after `Engine.commit`."""
    total: int | None = None
    end_reason: str | None = None
    loop_error: str | None = None
    repeated: bool = False
    """The API answered this page with the previous page's records (``loop_error`` says so)."""
    size_sent: bool = True
    """Whether the request carried the page size (``limit`` in `requested`)."""
    notes: list[str] = field(default_factory=list)
    log: RequestLog = field(default_factory=RequestLog)
    """Requests, retries and waits behind this page (its notes carry the summary)."""
    detected: SessionRecord | None = None
    """An auto session with the pagination detected on this page, for `Engine.commit` to store."""
    found: dict[str, Any] | None = None
    """What a paginator found on this page that a source could pin (see `Step.found`)."""

    @property
    def requested(self) -> dict[str, Any]:
        """What position this page asked for, for the result's ``page.request``."""
        state = self.state
        limit = state.page_size if self.size_sent else None
        shown = {"offset": state.offset, "page": state.page, "cursor": state.cursor, "limit": limit}
        return {k: v for k, v in shown.items() if v is not None}


class Engine:
    """Sessions, plans and page steps over one `AppContext`."""

    def __init__(self, app: AppContext) -> None:
        self.app = app

    # -- sessions ---------------------------------------------------------------------------

    async def open(self, args: PagingArguments, owner: str | None = None) -> tuple[Plan, Position]:
        """The plan and starting position for a paging tool's arguments: a new session's first
        page, or the page (and records into it) that ``args.cursor`` names.

        Raises:
            InputError: a cursor together with arguments that start a session, or bad arguments.
            CursorError: see `resume`.
        """
        if args.cursor is None:
            plan = await self.start(args, owner)
            return plan, Position(0, 0, plan.pagination.first_state(plan.session.page_size))
        extra = [
            name
            for name, value in (
                ("source", args.source),
                ("request", args.request),
                ("pagination", args.pagination),
                ("params", args.params),
            )
            if value
        ]
        if extra:
            raise InputError(
                f"pass either cursor (to continue a session) or {', '.join(extra)} (to start one), not both"
            )
        if args.page_size is not None:
            raise InputError("page_size is fixed when a session starts; continue with cursor alone")
        return await self.resume(args.cursor, owner)

    async def start(self, args: PagingArguments, owner: str | None = None) -> Plan:
        """Create a session from tool arguments (``args.cursor`` aside) and store its first
        page's state.

        Raises:
            InputError: unknown source, bad params, a pagination that does not fit the url.
            HostNotAllowedError: an ad-hoc URL outside allowed_hosts or on an internal address.
        """
        if (args.source is None) == (args.request is None):
            raise InputError(
                "pass exactly one of source (a configured source; see list_sources) or request "
                "(an ad-hoc {url, ...} on an allowed host), or pass cursor to continue"
            )
        spec = args.pagination
        source_config: SourceConfig | None = None
        given_params: dict[str, Any] = {}
        if args.source is not None:
            source_config = _source(self.app, args.source)
            given_params = source_config.check_params(args.params)
            if spec is not None:  # the source's own pagination was checked at load
                _check_path_fit(source_config.url, spec, source_config.params, args.source)
            spec = spec or source_config.pagination
            spec = await prepare_pagination(self.app, source_config, given_params, spec)
        else:
            assert args.request is not None
            if args.params:
                raise InputError("params go with source; put ad-hoc values in request.query or request.body")
            spec = spec or AutoPagination()
            _check_path_fit(args.request.url, spec, None, None)
        notes: list[str] = []
        size = self._page_size(spec, source_config, args.page_size, notes)
        now = time.time()
        session = SessionRecord(
            id=new_id(),
            source=args.source,
            params=given_params,
            request=args.request,
            pagination=spec,
            page_size=size,
            fields=args.fields or None,
            owner=owner,
            created=now,
            expires=now + self.app.config.server.session_ttl_seconds,
        )
        plan = _resolve_plan(self.app, session, check_start=True)
        plan.notes.extend(notes)
        await self.app.purge_now_and_then()
        await self.app.store.put_session(session)
        await self.app.store.add_page(session.id, 0, spec.first_state(size))
        return plan

    async def resume(self, cursor: str, owner: str | None = None) -> tuple[Plan, Position]:
        """The plan and position a cursor names.

        Raises:
            CursorError: malformed, unknown, expired, not reached, or another caller's cursor.
        """
        session_id, number, skip = parse_cursor(cursor)
        try:
            session, state = await self.app.store.get_position(session_id, number)
        except ValidationError:
            # Stored by a version of mcp-paginate whose sessions this one reads differently.
            raise CursorError(
                "that cursor's session was stored by another version of mcp-paginate and cannot be "
                "read; start again with source=… (or request=…) and the same params"
            ) from None
        if session is None:
            raise CursorError(
                "that cursor has expired or is unknown to this server's store; start again with "
                "source=… (or request=…) and the same params"
            )
        if session.owner is not None and session.owner != owner:
            raise CursorError("that cursor belongs to another caller; start your own session with source=…")
        if state is None:
            raise CursorError(
                f"page {number} of that session has not been reached yet; continue with the next_cursor "
                "of the last page you read"
            )
        return _resolve_plan(self.app, session, check_start=False), Position(number, skip, state)

    def _page_size(
        self,
        spec: ConcretePagination | AutoPagination,
        source: SourceConfig | None,
        requested: int | None,
        notes: list[str],
    ) -> int | None:
        cap = source.max_page_size if source is not None else None
        configured = getattr(spec, "page_size", None)
        size = requested or configured or cap
        if cap is not None and size is not None and size > cap:
            notes.append(
                f"page_size {size} is above this source's cap of {cap} records per request; using {cap}"
            )
            size = cap
        if requested is not None and not _sends_page_size(spec):
            notes.append("page_size has no effect: this source's pagination sends no page size")
        return size

    # -- pages: prepare → send → interpret → commit ------------------------------------------

    async def fetch(
        self,
        plan: Plan,
        number: int,
        state: State,
        records_so_far: int = 0,
        *,
        sent: anyio.Event | None = None,
    ) -> Page:
        """Page ``number``, prepared, sent and interpreted, but not committed: its ``next_state``
        is not stored yet (see `commit`). ``sent`` is set once the request is on the wire (see
        `HttpClient.send`).

        Raises:
            PaginateError: upstream, transport, shape or policy errors (the page is not lost:
                its cursor still re-reads it).
        """
        if (number > 0 and isinstance(plan.pagination, AutoPagination)) or (
            number == 1 and plan.session.probe is not None
        ):
            return await probe_second_page(self, plan, number, state, records_so_far)
        outgoing = self.prepare(plan, number, state, records_so_far)
        try:
            response = await self.send(plan, outgoing, sent=sent)
        except UpstreamStatusError as exc:
            if refused_both_forms(plan, outgoing, exc):
                return await single_form_first_page(self, plan, outgoing, exc)
            if outgoing.state.unconfirmed_short is None or exc.status not in PAST_THE_END_STATUSES:
                raise
            return refused_probe(outgoing, exc.status)
        return self.interpret(plan, outgoing, response)

    def prepare(self, plan: Plan, number: int, state: State, records_so_far: int = 0) -> Outgoing:
        """The request for page ``number`` at ``state``: the position applied to a copy of the
        plan's request, concealed secrets in a cursor revealed, the origin policy checked.

        Raises:
            InputError: the request cannot be built (a template that cannot render).
            HostNotAllowedError: the position leads to a host the policy refuses.
        """
        pagination = plan.pagination
        request = plan.request.copy()
        detected = plan.session.detected is not None and not isinstance(pagination, AutoPagination)
        if detected and number == 0:
            # The first page of an auto session was requested as configured, before anything was
            # detected: re-read it with that same request (the same cursor sends the same request),
            # from where the detected pagination says it started.
            state = pagination.first_state(state.page_size)
        elif detected and isinstance(pagination, OffsetPagination) and state.page is not None:
            state = state.model_copy(update={"page": None})  # a probed second page: its offset is its place
        elif detected and number == 1 and isinstance(pagination, PagePagination):
            state = state.model_copy(update={"page": pagination.start_page + 1})  # a probed second page
        if not isinstance(pagination, AutoPagination) and not (detected and number == 0):
            revealed = state
            if isinstance(state.cursor, str) and "{secret:" in state.cursor:
                revealed = state.model_copy(update={"cursor": self.app.redactor.reveal(state.cursor)})
            try:
                pagination.apply(request, revealed)
            except ValueError as exc:  # a value template that cannot render, a body that is not an object
                raise InputError(
                    f"cannot build the request for page {number + 1}: {exc}", source=plan.name
                ) from None
        if plan.policy.check(request.url, source=plan.name):
            request.headers = plan.policy.strip_credentials(request.headers)
            plan.policy.refuse_secrets(
                request.url, request.query, request.body, self.app.redactor, source=plan.name
            )
        return Outgoing(number=number, state=state, request=request, records_so_far=records_so_far)

    async def send(self, plan: Plan, outgoing: Outgoing, *, sent: anyio.Event | None = None) -> HttpResponse:
        """Send a prepared request within the source's throttle, counting it in ``outgoing.log``.

        Raises:
            PaginateError: upstream status, transport or policy errors.
        """
        async with plan.throttle.slot():
            return await self.app.http.send(
                outgoing.request,
                plan.policy,
                source=plan.name,
                log=outgoing.log,
                on_rate_limited=plan.throttle.rate_limited,
                sent=sent,
                pool=plan.pool,
                keepalive=plan.throttle.concurrency,
            )

    def interpret(self, plan: Plan, outgoing: Outgoing, response: HttpResponse) -> Page:
        """What a response says, without writing anything: its records (masked where the API
        echoed a secret), an auto session's detected pagination (in ``page.detected``), a page
        that repeats the one before, and where the next page is (``page.next_state``, not
        stored: see `commit`).

        Raises:
            ResponseShapeError: no records where expected, or no next position readable.
        """
        state = outgoing.state
        records = extract_records(response.body, plan.records_path, source=plan.name, url=response.url)
        view = PageView(
            body=response.body,
            headers=response.headers,
            records=records,
            url=response.url,
            page_number=outgoing.number,
            records_so_far=outgoing.records_so_far,
            links=response.links,
            source=plan.name,
        )
        notes = outgoing.log.notes()
        shown = records
        if self.app.redactor.found_in(response.content):
            # An API that echoes the request (its Authorization header, its URL with ?api_key=) into
            # records. Paging reads the records as they came; what is returned and stored is masked.
            shown = self.app.redactor.redact_any(records)
        pagination, detected, detection = plan.pagination, None, None
        if isinstance(pagination, AutoPagination):
            # An auto session's first request goes as configured: no page size was added to it.
            detection = detect_scheme(view, outgoing.request, plan.session.page_size)
            if detection.probe is not None and isinstance(detection.pagination, NoPagination):
                return pending_first_page(plan, outgoing, view, detection, shown)
            pagination, detected = _detected(plan.session, detection.pagination)
            detected = detected.model_copy(update={"probe": detection.probe})
            notes.append(f"auto-detected pagination: {_describe_mode(pagination)}")
            state = pagination.first_state(state.page_size)  # where the first request started
        page = Page(
            number=outgoing.number,
            state=state,
            records=shown,
            next_state=None,
            notes=notes,
            log=outgoing.log,
            size_sent=detected is None and _sends_page_size(pagination),
            detected=detected,
        )
        if plan.session.fields:
            page.notes.extend(fields_note(records, plan.session.fields))
        digest = records_digest(records)
        if digest is not None and digest == state.after:
            repeated_page(page)
            return page
        page.next_state = self._following(plan, pagination, view, page, digest)
        if detection is not None and detection.total is not None:
            page.total = detection.total  # what the API reported, not what came
            page.notes.extend(detection.notes)
        return page

    def _following(
        self, plan: Plan, pagination: ConcretePagination, view: PageView, page: Page, digest: str | None
    ) -> State | None:
        """The state of the page after ``page`` (None: the last page, or ``page.loop_error``)."""
        state = page.state
        try:
            step = pagination.next_state(view, state)
        except PaginationLoopError as exc:
            page.loop_error = str(exc)
            return None
        except ValueError as exc:  # a template or path that does not fit this response
            raise ResponseShapeError(
                f"cannot read the next position from the response: {exc}", source=plan.name, url=view.url
            ) from None
        page.total, page.end_reason, page.found = step.total, step.reason, step.found
        page.notes.extend(step.notes)
        before = view.records_so_far
        if step.total is not None and step.total < before:
            page.loop_error = (
                f"page {page.number + 1} reports a total of {step.total} records, fewer than the {before} "
                "already received: the total contradicts the earlier pages (a position parameter taken "
                "for a filter?); stopped paging instead of calling this the end"
            )
            return None
        following = step.next
        if following is None:
            return None
        if isinstance(following.cursor, str):
            # A next link may carry a key the source sent in its query: store it as a marker.
            concealed = self.app.redactor.conceal(following.cursor)
            if concealed != following.cursor:
                following = following.model_copy(update={"cursor": concealed})
        if following.after != digest:
            following = following.model_copy(update={"after": digest})
        if view.records:
            if following.empty_run:
                following = following.model_copy(update={"empty_run": 0})
            return following
        following = following.model_copy(update={"empty_run": state.empty_run + 1})
        if following.empty_run >= MAX_EMPTY_RUN:
            page.loop_error = (
                f"the API returned {MAX_EMPTY_RUN} empty pages in a row while saying more records exist; "
                "stopped paging"
            )
            return None
        return following

    async def commit(self, plan: Plan, page: Page) -> Page:
        """Store what ``page`` learned: an auto session's detected pagination, and where the next
        page is. Storing a position is insert-if-absent, so a position seen before in the session
        ends paging here (``page.loop_error``, no ``next_state``); a state another caller stored
        first for the next page replaces ``page.next_state``."""
        if page.detected is not None:
            plan.session = page.detected
            await self.app.store.put_session(page.detected)
        following = page.next_state
        if following is None:
            return page
        slot = await self.app.store.add_page(plan.session.id, page.number + 1, following)
        if slot.repeats is not None:
            page.next_state = None
            page.loop_error = (
                f"the API led back to a position already visited (page {slot.repeats + 1} of this session); "
                "stopped paging instead of looping"
            )
            return page
        page.next_state = slot.state
        return page


def _detected(
    session: SessionRecord, concrete: ConcretePagination
) -> tuple[ConcretePagination, SessionRecord]:
    """The pagination an auto session's first response shows, and the session that records it."""
    assert isinstance(session.pagination, AutoPagination)
    detected = concrete.model_dump(mode="json", exclude_defaults=True)
    detected["mode"] = concrete.mode
    return concrete, session.model_copy(update={"pagination": concrete, "detected": detected})


# -- the request room: a session resolved into a request, a policy and a throttle ------------
# (`mcp_paginate.requests` builds the request; the `mcp_paginate.http` policy guards it.)


def _resolve_plan(app: AppContext, session: SessionRecord, *, check_start: bool) -> Plan:
    settings = app.config.server
    if session.source is not None:
        source = _source(app, session.source)
        request = resolve_source(source, session.params, app.environ).register_secrets(app.redactor)
        policy = OriginPolicy(
            home=origin_of(request.url),
            allowed_hosts=tuple(settings.allowed_hosts),
            secret_headers=frozenset(source.secret_header_names()),
        )
        throttle = app.throttle(source.name, source.concurrency, source.rate_limit)
        return Plan(session, source.name, request, source.records, policy, throttle, source.name, source)
    assert session.request is not None
    ad_hoc = session.request
    request = resolve_ad_hoc(ad_hoc).register_secrets(app.redactor)
    policy = OriginPolicy(
        home=origin_of(request.url),
        allowed_hosts=tuple(settings.allowed_hosts),
        ad_hoc=True,
        allow_private_networks=settings.allow_private_networks,
    )
    if check_start:
        policy.check_start(request.url)
    pool = f"ad-hoc {policy.home}"
    throttle = app.throttle(pool, 4, None)
    return Plan(session, "ad-hoc request", request, ad_hoc.records, policy, throttle, pool)


def _source(app: AppContext, name: str) -> SourceConfig:
    sources = app.config.sources
    if name not in sources:
        raise UnknownSourceError(name, sources)
    return sources[name]


def _check_path_fit(
    url: str,
    spec: ConcretePagination | AutoPagination,
    params: Mapping[str, Any] | None,
    source: str | None,
) -> None:
    """`check_path_options` for a pagination given as a tool argument.

    Raises:
        InputError: its in='path' options do not fit the url (or leave a placeholder unfilled).
    """
    try:
        check_path_options(url, spec, params)
    except ValueError as exc:
        raise InputError(f"invalid pagination spec for this url: {exc}", source=source) from None


def _sends_page_size(spec: ConcretePagination | AutoPagination) -> bool:
    if isinstance(spec, OffsetPagination):
        return spec.limit_param is not None
    if isinstance(spec, PagePagination | CursorPagination):
        return getattr(spec, "size_param", None) is not None
    return isinstance(spec, AutoPagination)


def _describe_mode(spec: ConcretePagination) -> str:
    return (
        spec.model_dump_json(exclude_defaults=True) if not isinstance(spec, NoPagination) else "a single page"
    )
