"""fetch_all's drains as tasks of the server process, so a drain outlives the call that started it.

A fetch_all call starts (or picks up) a drain here and waits for it up to the tool-call deadline
(`server.tool_deadline_seconds`, below a host's 60 s timeout). If the drain is not done by then,
the call answers with what is stored (`stop_reason: deadline`, a ``next_cursor``) and the drain
goes on in the background: at most `server.background_drains` of them per process (past that it
stops where it got), each stopped after `server.drain_idle_seconds` without a call asking for it.
``fetch_all(cursor=next_cursor)`` then answers with the records stored since that cursor was
handed out, from the same results (`Handed`), waiting at most one more deadline.

Replicas sharing a store: a running drain holds the lease ``drain:<session id>`` (one drain per
session at a time), renewed every third of `server.drain_lease_seconds`. Every page's chunk is
stored with the results' cursor and count (`StoreSink.checkpoint`), so when the replica running a
drain dies, its lease runs out and the next call, on any replica, resumes the drain from the last
stored page: a page fetched but not stored is fetched again and stored once.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio
from anyio.abc import TaskGroup
from pydantic import BaseModel, ConfigDict, ValidationError

from mcp_paginate.arguments import FetchAllArguments
from mcp_paginate.drain import Drain, DrainState, Limits, ProgressCallback, StoreSink
from mcp_paginate.engine import Engine, Plan, Position
from mcp_paginate.errors import InputError, PaginateError
from mcp_paginate.results import stored_results
from mcp_paginate.sessions import ResultsMeta, new_id

if TYPE_CHECKING:
    from mcp_paginate.app import AppContext

__all__ = ["POLL_SECONDS", "DrainRecord", "Drains", "Handed", "Runner"]

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.2
"""How often a call waiting for a drain that another replica runs looks at the store."""

_LEASE = "drain:{session}"
_RECORD = "drain-record:{results}"
_HANDED = "drain-cursor:{cursor}"
_ANSWERED = frozenset({"max_records", "max_pages", "error"})
"""Stops a call reports before the drain goes on: a cursor handed out before them reads up to them."""


class DrainRecord(BaseModel):
    """What resuming a drain needs beyond its stored results; kept in the store for any replica."""

    model_config = ConfigDict(extra="forbid")

    results_id: str = ""
    session_id: str
    fields: list[str] | None = None
    dedupe_key: str | None = None
    max_records: int
    """Records in all (the results' count) where the drain stops."""
    max_pages: int
    """Pages in all (over every run) where the drain stops."""
    pages: int = 0
    """Pages read by the runs that have ended."""
    total: int | None = None
    error: str | None = None


class Handed(BaseModel):
    """A next_cursor that fetch_all handed out: the results it continues, and their count then."""

    model_config = ConfigDict(extra="forbid")

    results_id: str
    offset: int
    pages: int = 0
    """Pages the drain had read then."""


@dataclass(eq=False)
class Runner:
    """One drain running in this process, and the calls waiting for it."""

    record: DrainRecord
    drain: Drain
    sink: StoreSink
    holder: str
    """This run's name on the lease."""
    pages_before: int = 0
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    done: anyio.Event = field(default_factory=anyio.Event)
    waiting: int = 0
    progress: ProgressCallback | None = None
    cancelled: bool = False
    """The call waiting for it was cancelled (the drain stops as `cancelled`)."""
    lost: bool = False
    """The lease went to another replica: this run writes nothing more."""

    @property
    def pages(self) -> int:
        return self.pages_before + self.drain.state.pages

    async def report(self, count: int, total: int | None, message: str) -> None:
        """The drain's progress, to the call waiting for it (if one is)."""
        progress = self.progress
        if progress is None:
            return
        try:
            await progress(count, total, message)
        except Exception:  # the caller's channel is gone; the drain itself goes on
            logger.debug("progress notification failed", exc_info=True)
            if self.progress is progress:
                self.progress = None


class Drains:
    """The drains of one server process (`AppContext.drains`); see the module docstring."""

    def __init__(self, app: AppContext) -> None:
        self.app = app
        self.running: dict[str, Runner] = {}
        self.group: TaskGroup | None = None
        """Set by `open_app` for as long as the app is open; drains run in it."""

    # -- what is stored ------------------------------------------------------------------------

    async def handed(self, cursor: str, owner: str | None) -> Handed | None:
        """The results a next_cursor that fetch_all handed out continues, if ``owner`` may read
        them; else None (the cursor is then taken as any other, and refused as such if it is
        another caller's)."""
        text = await self.app.store.get_value(_HANDED.format(cursor=cursor.strip()))
        try:
            handed = None if text is None else Handed.model_validate_json(text)
        except ValidationError:
            return None  # written by another version: start afresh from the cursor
        if handed is None:
            return None
        meta = await self.app.store.get_results(handed.results_id)
        return handed if meta is not None and meta.owner in (None, owner) else None

    async def hand(self, cursor: str, meta: ResultsMeta, pages: int) -> None:
        """Remember that ``cursor`` continues ``meta``'s results from their count now."""
        handed = Handed(results_id=meta.id, offset=meta.count, pages=pages)
        await self.app.store.put_value(_HANDED.format(cursor=cursor), handed.model_dump_json(), meta.expires)

    async def record(self, results_id: str) -> DrainRecord | None:
        text = await self.app.store.get_value(_RECORD.format(results=results_id))
        try:
            return None if text is None else DrainRecord.model_validate_json(text)
        except ValidationError:
            return None

    async def _keep(self, record: DrainRecord, expires: float) -> None:
        await self.app.store.put_value(
            _RECORD.format(results=record.results_id), record.model_dump_json(), expires
        )

    # -- starting and resuming -----------------------------------------------------------------

    async def begin(
        self, engine: Engine, plan: Plan, start: Position, record: DrainRecord, owner: str | None
    ) -> Runner:
        """A new drain of ``plan`` from ``start`` into new results, running."""
        sink = await StoreSink.create(self.app, plan.session.id, owner=owner)
        record.results_id = sink.meta.id
        await self._keep(record, sink.meta.expires)
        holder = new_id()
        if not await self._take(record.session_id, holder):
            raise InputError("another fetch_all is draining this session; pass its next_cursor to fetch_all")
        limits = Limits(max_records=record.max_records, max_pages=record.max_pages)
        drain = Drain(engine, plan, limits=limits, fields=record.fields, dedupe_key=record.dedupe_key)
        return self._launch(Runner(record, drain, sink, holder), start)

    async def pick_up(
        self, handed: Handed, args: FetchAllArguments, owner: str | None, deadline: float, notes: list[str]
    ) -> Runner | None:
        """The runner of the drain a handed-out cursor continues: running here already, or
        resumed here from its last stored page when it stopped or its replica died. None when
        it is complete, or still runs on another replica at ``deadline``.

        Raises:
            InputError: the results expired or are another caller's.
            CursorError: the session expired.
        """
        while True:
            meta = await stored_results(self.app, handed.results_id, owner)  # the owner check first
            runner = self.running.get(handed.results_id)
            if runner is not None:
                return runner
            if meta.complete or meta.cursor is None:
                return None
            if meta.stop_reason in _ANSWERED and meta.count > handed.offset:
                return None  # it stopped at a limit or an error since: that is the answer first
            runner = await self._resume(meta, args, owner, notes)
            if runner is not None or anyio.current_time() >= deadline:
                return runner
            await anyio.sleep(POLL_SECONDS)  # another replica runs it: look again

    async def _resume(
        self, meta: ResultsMeta, args: FetchAllArguments, owner: str | None, notes: list[str]
    ) -> Runner | None:
        """Take the lease and run the drain on from the stored cursor; None if it is held."""
        record = await self.record(meta.id)
        if record is None:
            raise InputError(f"results {meta.id!r} cannot be continued here; start fetch_all again")
        holder = new_id()
        if not await self._take(record.session_id, holder):
            return None
        try:
            latest = await stored_results(self.app, meta.id, owner)  # under the lease: the last word
            if latest.complete or latest.cursor is None:
                await self._drop(record.session_id, holder)
                return None
            self._limits(record, latest, args, notes)
            engine = Engine(self.app)
            plan, start = await engine.resume(latest.cursor, owner)
            state = DrainState(cursor=latest.cursor, count=latest.count)
            limits = Limits(max_records=record.max_records, max_pages=max(1, record.max_pages - record.pages))
            drain = Drain(
                engine, plan, limits=limits, fields=record.fields, dedupe_key=record.dedupe_key, state=state
            )
            sink = StoreSink(self.app, latest)
            await self._keep(record, latest.expires)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._drop(record.session_id, holder)
            raise
        return self._launch(Runner(record, drain, sink, holder, pages_before=record.pages), start)

    def _limits(
        self, record: DrainRecord, meta: ResultsMeta, args: FetchAllArguments, notes: list[str]
    ) -> None:
        """A drain that stopped at its limits goes on with this call's (or the server's)."""
        settings = self.app.config.server
        if meta.stop_reason == "max_records":
            record.max_records = meta.count + min(
                args.max_records or settings.max_records, settings.max_records
            )
        if meta.stop_reason == "max_pages":
            record.max_pages = record.pages + min(args.max_pages or settings.max_pages, settings.max_pages)
        if args.fields is not None or args.dedupe_key is not None:
            notes.append("fields and dedupe_key are those the drain started with; these were not applied")

    def _launch(self, runner: Runner, start: Position) -> Runner:
        if self.group is None:
            raise RuntimeError("the app is not open: drains run in open_app's task group")
        runner.drain.progress = runner.report
        self.running[runner.record.results_id] = runner
        self.group.start_soon(self._run, runner, start)
        return runner

    # -- running -------------------------------------------------------------------------------

    async def _run(self, runner: Runner, start: Position) -> None:
        try:
            with runner.scope:
                async with anyio.create_task_group() as group:
                    group.start_soon(self._keep_lease, runner)
                    try:
                        await runner.drain.run(runner.sink, start)
                    except PaginateError as exc:
                        runner.drain.fail(self.app.redactor.redact(str(exc)))
                    group.cancel_scope.cancel()
        except Exception:  # the top of a background task: nothing above it would report this
            logger.exception("drain %s failed", runner.record.results_id)
            runner.drain.fail("internal error while draining (see the server log); fetch_all(cursor) resumes")
        finally:
            with anyio.CancelScope(shield=True):
                await self._finish(runner)

    async def _finish(self, runner: Runner) -> None:
        state, record = runner.drain.state, runner.record
        if state.stop_reason is None:
            state.stop_reason = "cancelled" if runner.cancelled else "deadline"
        record.pages, record.error = runner.pages, state.error
        record.total = state.total if state.total is not None else record.total
        try:
            if not runner.lost:
                await runner.sink.close(state)
                await self._keep(record, runner.sink.meta.expires)
                await self._drop(record.session_id, runner.holder)
        except PaginateError as exc:
            logger.warning("could not store where drain %s stopped: %s", record.results_id, exc)
        finally:
            if self.running.get(record.results_id) is runner:
                del self.running[record.results_id]
            runner.done.set()

    async def _keep_lease(self, runner: Runner) -> None:
        seconds = self.app.config.server.drain_lease_seconds
        while True:
            await anyio.sleep(seconds / 3)
            try:
                held = await self.app.store.take_lease(
                    _LEASE.format(session=runner.record.session_id), runner.holder, seconds
                )
            except PaginateError as exc:
                logger.warning("could not renew the lease of drain %s: %s", runner.record.results_id, exc)
                continue
            if not held:
                logger.warning(
                    "drain %s: another replica took its lease; stopping here", runner.record.results_id
                )
                runner.lost = True
                runner.scope.cancel()
                return

    async def _take(self, session_id: str, holder: str) -> bool:
        seconds = self.app.config.server.drain_lease_seconds
        return await self.app.store.take_lease(_LEASE.format(session=session_id), holder, seconds)

    async def _drop(self, session_id: str, holder: str) -> None:
        await self.app.store.drop_lease(_LEASE.format(session=session_id), holder)

    # -- waiting -------------------------------------------------------------------------------

    async def follow(self, runner: Runner, progress: ProgressCallback | None, deadline: float) -> None:
        """Wait for ``runner`` until it stops or ``deadline``; then it goes on in the background
        if a slot is free (else it stops where it got). Cancelling the call stops the drain."""
        runner.waiting += 1
        runner.progress = progress
        runner.scope.deadline = math.inf
        try:
            with anyio.CancelScope(deadline=deadline):
                await runner.done.wait()
        except anyio.get_cancelled_exc_class():
            runner.cancelled = True
            runner.scope.cancel()
            with anyio.CancelScope(shield=True):
                await runner.done.wait()
            raise
        finally:
            runner.waiting -= 1
            if runner.progress is progress:
                runner.progress = None
        if runner.done.is_set() or runner.waiting:
            return
        settings = self.app.config.server
        background = sum(1 for other in self.running.values() if other.waiting == 0)
        if background > settings.background_drains:
            runner.scope.cancel()  # no slot: it stops here, its cursor stored
            await runner.done.wait()
        else:
            runner.scope.deadline = anyio.current_time() + settings.drain_idle_seconds

    def touch(self, results_id: str) -> None:
        """Someone asked for these results: a background drain filling them is not idle."""
        runner = self.running.get(results_id)
        if runner is not None and runner.waiting == 0:
            runner.scope.deadline = anyio.current_time() + self.app.config.server.drain_idle_seconds
