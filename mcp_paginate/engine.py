"""The engine loop: sessions made executable, one page fetched, pages streamed in order.

`Engine.start` turns tool arguments into a stored session and a `Plan` (the resolved
request, with secrets, that is never stored); `Engine.resume` does the same from a
cursor. `Engine.fetch` requests one page and records where the next one is, so every
page reached can be re-read and continued from any process sharing the store.
`mcp_paginate.streaming` yields pages in order for `fetch_all`.

Termination is by construction: every mode has a stop rule, a position seen before
in the session ends paging (a loop), runs of empty pages end it, and the callers
cap pages, records and time.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
from pydantic import ValidationError

from mcp_paginate.app import AppContext
from mcp_paginate.config import SourceConfig, check_path_options, param_text
from mcp_paginate.errors import (
    CursorError,
    InputError,
    PaginationLoopError,
    ResponseShapeError,
    UpstreamStatusError,
)
from mcp_paginate.http import OriginPolicy, RequestLog, origin_of
from mcp_paginate.paginators import (
    AutoPagination,
    ConcretePagination,
    CursorPagination,
    NoPagination,
    OffsetPagination,
    PagePagination,
    PageView,
    Pagination,
    PreparedRequest,
    State,
    pagination_adapter,
)
from mcp_paginate.paginators.auto import detect
from mcp_paginate.records import extract_records, records_digest
from mcp_paginate.sessions import AdHocRequest, SessionRecord, format_cursor, new_id, parse_cursor
from mcp_paginate.throttle import Throttle

__all__ = ["Engine", "Page", "Plan"]

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


@dataclass
class Page:
    """One fetched page and what follows it."""

    number: int
    state: State
    records: list[Any]
    next_state: State | None
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

    @property
    def requested(self) -> dict[str, Any]:
        """What position this page asked for, for the result's ``page.request``."""
        state = self.state
        limit = state.page_size if self.size_sent else None
        shown = {"offset": state.offset, "page": state.page, "cursor": state.cursor, "limit": limit}
        return {k: v for k, v in shown.items() if v is not None}


class Engine:
    """Sessions, plans and page fetching over one `AppContext`."""

    def __init__(self, app: AppContext) -> None:
        self.app = app

    # -- sessions ---------------------------------------------------------------------------

    async def start(
        self,
        *,
        source: str | None = None,
        params: Mapping[str, Any] | None = None,
        request: AdHocRequest | Mapping[str, Any] | None = None,
        pagination: Pagination | Mapping[str, Any] | None = None,
        page_size: int | None = None,
        fields: list[str] | None = None,
        owner: str | None = None,
    ) -> Plan:
        """Create a session from tool arguments and store its first page's state.

        Raises:
            InputError: unknown source, bad params, bad request or pagination spec.
            HostNotAllowedError: an ad-hoc URL outside allowed_hosts or on an internal address.
        """
        if (source is None) == (request is None):
            raise InputError(
                "pass exactly one of source (a configured source; see list_sources) or request "
                "(an ad-hoc {url, ...} on an allowed host), or pass cursor to continue"
            )
        spec = _parse_pagination(pagination)
        source_config: SourceConfig | None = None
        ad_hoc: AdHocRequest | None = None
        given_params: dict[str, Any] = {}
        if source is not None:
            source_config = self._source(source)
            given_params = source_config.check_params(params)
            if spec is not None:  # the source's own pagination was checked at load
                _check_path_fit(source_config.url, spec, source_config.params, source)
            spec = spec or source_config.pagination
        else:
            if params:
                raise InputError("params go with source; put ad-hoc values in request.query or request.body")
            ad_hoc = _parse_request(request)
            spec = spec or AutoPagination()
            _check_path_fit(ad_hoc.url, spec, None, None)
        notes: list[str] = []
        size = self._page_size(spec, source_config, page_size, notes)
        settings = self.app.config.server
        now = time.time()
        session = SessionRecord(
            id=new_id(),
            source=source,
            params=given_params,
            request=ad_hoc,
            pagination=spec,
            page_size=size,
            fields=fields or None,
            owner=owner,
            created=now,
            expires=now + settings.session_ttl_seconds,
        )
        plan = self._plan(session, check_start=True)
        plan.notes.extend(notes)
        await self.app.purge_now_and_then()
        await self.app.store.put_session(session)
        first = spec.first_state(size)
        await self.app.store.add_page(session.id, 0, first)
        return plan

    async def resume(self, cursor: str, owner: str | None = None) -> tuple[Plan, int, int, State]:
        """The plan, page number, skip and state a cursor names.

        Raises:
            CursorError: malformed, unknown, expired, not reached, or another caller's cursor.
        """
        session_id, number, skip = parse_cursor(cursor)
        try:
            session = await self.app.store.get_session(session_id)
            state = await self.app.store.get_page(session_id, number) if session is not None else None
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
        return self._plan(session, check_start=False), number, skip, state

    def _source(self, name: str) -> SourceConfig:
        sources = self.app.config.sources
        if name not in sources:
            known = ", ".join(sorted(sources)) or "none configured"
            raise InputError(f"unknown source {name!r}; available sources: {known} (see list_sources)")
        return sources[name]

    def _page_size(
        self,
        spec: ConcretePagination | AutoPagination,
        source: SourceConfig | None,
        requested: int | None,
        notes: list[str],
    ) -> int | None:
        cap = source.max_page_size if source is not None else None
        configured = getattr(spec, "page_size", None)
        if requested is not None and requested < 1:
            raise InputError("page_size must be at least 1")
        size = requested or configured or cap
        if cap is not None and size is not None and size > cap:
            notes.append(
                f"page_size {size} is above this source's cap of {cap} records per request; using {cap}"
            )
            size = cap
        if requested is not None and not _sends_page_size(spec):
            notes.append("page_size has no effect: this source's pagination sends no page size")
        return size

    def _plan(self, session: SessionRecord, *, check_start: bool) -> Plan:
        settings = self.app.config.server
        if session.source is not None:
            source = self._source(session.source)
            request = source.resolve(session.params, self.app.redactor, self.app.environ)
            policy = OriginPolicy(
                home=origin_of(request.url),
                allowed_hosts=tuple(settings.allowed_hosts),
                secret_headers=frozenset(source.secret_header_names()),
            )
            records_path = source.records
            pool = source.name
            throttle = self.app.throttle(pool, source.concurrency, source.rate_limit)
            name = source.name
        else:
            assert session.request is not None
            ad_hoc = session.request
            request = PreparedRequest(
                method=ad_hoc.method,
                url=ad_hoc.url,
                headers=dict(ad_hoc.headers),
                query={k: param_text(v) for k, v in ad_hoc.query.items()},
                body=ad_hoc.body,
            )
            for header, value in ad_hoc.headers.items():
                if _looks_secret(header):
                    self.app.redactor.add(value)
            policy = OriginPolicy(
                home=origin_of(request.url),
                allowed_hosts=tuple(settings.allowed_hosts),
                ad_hoc=True,
                allow_private_networks=settings.allow_private_networks,
            )
            if check_start:
                policy.check_start(request.url)
            records_path = ad_hoc.records
            pool = f"ad-hoc {policy.home}"
            throttle = self.app.throttle(pool, 4, None)
            source = None
            name = "ad-hoc request"
        return Plan(
            session=session,
            name=name,
            request=request,
            records_path=records_path,
            policy=policy,
            throttle=throttle,
            pool=pool,
            source=source,
        )

    # -- pages ------------------------------------------------------------------------------

    async def fetch(
        self,
        plan: Plan,
        number: int,
        state: State,
        records_so_far: int = 0,
        *,
        sent: anyio.Event | None = None,
    ) -> Page:
        """Request page ``number`` and store where the next page is. ``sent`` is set once the
        request is on the wire (see `HttpClient.send`).

        Raises:
            PaginateError: upstream, transport, shape or policy errors (the page is not lost:
                its cursor still re-reads it).
        """
        pagination = plan.pagination
        request = plan.request.copy()
        if number == 0 and plan.session.detected is not None and not isinstance(pagination, AutoPagination):
            # The first page of an auto session was requested as configured, before anything was
            # detected: re-read it from where the detected pagination says that request started.
            state = pagination.first_state(state.page_size)
        if not isinstance(pagination, AutoPagination):
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
        log = RequestLog()
        try:
            async with plan.throttle.slot():
                response = await self.app.http.send(
                    request,
                    plan.policy,
                    source=plan.name,
                    log=log,
                    on_rate_limited=plan.throttle.rate_limited,
                    sent=sent,
                    pool=plan.pool,
                    keepalive=plan.throttle.concurrency,
                )
        except UpstreamStatusError as exc:
            if state.unconfirmed_short is None or exc.status not in PAST_THE_END_STATUSES:
                raise
            return _refused_probe(number, state, exc.status, log)
        records = extract_records(response.body, plan.records_path, source=plan.name, url=response.url)
        view = PageView(
            body=response.body,
            headers=response.headers,
            records=records,
            url=response.url,
            page_number=number,
            records_so_far=records_so_far,
            links=response.links,
            source=plan.name,
        )
        notes = log.notes()
        # An auto session's first request goes as configured: no page size is added to it.
        size_sent = not isinstance(pagination, AutoPagination) and _sends_page_size(pagination)
        if isinstance(pagination, AutoPagination):
            pagination = await self._detect(plan, view, request)
            notes.append(f"auto-detected pagination: {_describe_mode(pagination)}")
            state = pagination.first_state(state.page_size)  # where the first request started
        shown = records
        if self.app.redactor.found_in(response.content):
            # An API that echoes the request (its Authorization header, its URL with ?api_key=) into
            # records. Paging reads the records as they came; what is returned and stored is masked.
            shown = self.app.redactor.redact_any(records)
        page = Page(
            number=number,
            state=state,
            records=shown,
            next_state=None,
            notes=notes,
            log=log,
            size_sent=size_sent,
        )
        digest = records_digest(records)
        if digest is not None and digest == state.after:
            page.repeated = True
            page.loop_error = (
                f"page {number + 1} came back with exactly the records of page {number}: the API "
                f"ignored the position it was sent ({_position_sent(page)}); check the source's "
                "pagination parameter names (offset_param / page_param / cursor_param)"
            )
            return page
        try:
            step = pagination.next_state(view, state)
        except PaginationLoopError as exc:
            page.loop_error = str(exc)
            return page
        except ValueError as exc:  # a template or path that does not fit this response
            raise ResponseShapeError(
                f"cannot read the next position from the response: {exc}", source=plan.name, url=response.url
            ) from None
        page.total, page.end_reason = step.total, step.reason
        page.notes.extend(step.notes)
        following = step.next
        if following is None:
            return page
        if isinstance(following.cursor, str):
            # A next link may carry a key the source sent in its query: store it as a marker.
            concealed = self.app.redactor.conceal(following.cursor)
            if concealed != following.cursor:
                following = following.model_copy(update={"cursor": concealed})
        if following.after != digest:
            following = following.model_copy(update={"after": digest})
        if records:
            if following.empty_run:
                following = following.model_copy(update={"empty_run": 0})
        else:
            following = following.model_copy(update={"empty_run": state.empty_run + 1})
            if following.empty_run >= MAX_EMPTY_RUN:
                page.loop_error = (
                    f"the API returned {MAX_EMPTY_RUN} empty pages in a row while saying more records exist; "
                    "stopped paging"
                )
                return page
        slot = await self.app.store.add_page(plan.session.id, number + 1, following)
        if slot.repeats is not None:
            page.loop_error = (
                f"the API led back to a position already visited (page {slot.repeats + 1} of this session); "
                "stopped paging instead of looping"
            )
            return page
        page.next_state = slot.state
        return page

    async def _detect(self, plan: Plan, view: PageView, request: PreparedRequest) -> ConcretePagination:
        assert isinstance(plan.session.pagination, AutoPagination)
        concrete = detect(view, request, plan.session.page_size)
        detected = concrete.model_dump(mode="json", exclude_defaults=True)
        detected["mode"] = concrete.mode
        plan.session = plan.session.model_copy(update={"pagination": concrete, "detected": detected})
        await self.app.store.put_session(plan.session)
        return concrete


def _refused_probe(number: int, state: State, status: int, log: RequestLog) -> Page:
    """The last page, empty: the API refused the page after a short one (``state`` is such a
    probe, asked for in case the API caps its page size) as an API refuses a page past its end."""
    note = (
        f"the API answered {status} to page {number + 1}, asked for after a short page of "
        f"{state.unconfirmed_short} records in case the API caps its page size; took that short "
        "page as the last page"
    )
    return Page(
        number=number,
        state=state,
        records=[],
        next_state=None,
        end_reason=f"the API answered {status} past the last page",
        notes=[*log.notes(), note],
        log=log,
    )


def _parse_pagination(
    value: Pagination | Mapping[str, Any] | None,
) -> ConcretePagination | AutoPagination | None:
    if value is None or isinstance(
        value, OffsetPagination | PagePagination | CursorPagination | NoPagination | AutoPagination
    ):
        return value
    try:
        return pagination_adapter.validate_python(dict(value))
    except ValueError as exc:
        raise InputError(f"invalid pagination spec: {_short_validation(exc)}") from None


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


def _parse_request(value: AdHocRequest | Mapping[str, Any] | None) -> AdHocRequest:
    if isinstance(value, AdHocRequest):
        return value
    try:
        return AdHocRequest.model_validate(dict(value or {}))
    except ValueError as exc:
        raise InputError(f"invalid request: {_short_validation(exc)}") from None


def _short_validation(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if errors is None:
        return str(exc)
    parts = []
    for error in errors():
        where = ".".join(str(p) for p in error["loc"] if not str(p).startswith("function-"))
        parts.append(f"{where or 'value'}: {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts[:5])


def _sends_page_size(spec: ConcretePagination | AutoPagination) -> bool:
    if isinstance(spec, OffsetPagination):
        return spec.limit_param is not None
    if isinstance(spec, PagePagination | CursorPagination):
        return getattr(spec, "size_param", None) is not None
    return isinstance(spec, AutoPagination)


def _position_sent(page: Page) -> str:
    sent = ", ".join(f"{name} {value}" for name, value in page.requested.items() if name != "limit")
    return sent or "the first request's position"


def _describe_mode(spec: ConcretePagination) -> str:
    return (
        spec.model_dump_json(exclude_defaults=True) if not isinstance(spec, NoPagination) else "a single page"
    )


def _looks_secret(header: str) -> bool:
    lowered = header.lower()
    return any(word in lowered for word in ("auth", "token", "key", "secret", "cookie"))
