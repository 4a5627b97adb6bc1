"""``mcp-paginate fetch``: drain a source from the terminal to JSON Lines, with a progress bar.

Pages are fetched as fetch_all fetches them (the core `Drain`, no MCP involved):
overlapped where the API allows it, within the source's ``concurrency``, ``rate_limit`` and
``prefetch``. Each page is written and flushed in order as it arrives, so memory stays flat
however large the source is, and the output holds exactly the records before the cursor
printed on interruption::

    $ mcp-paginate fetch github_issues -p owner=encode -p repo=httpx --out issues.jsonl
    ✗ github_issues ━━━━━━━━━━╺━━━━━━━━━━━  1,200/2,874 records · 12 pages · 310 rec/s · 0:00:04
    ^C
    interrupted after 1,200 records; resume with:
      mcp-paginate fetch github_issues --out issues.jsonl --cursor 3kq…Vw.12

The progress bar goes to stderr and ends on ✓ (done) or ✗ (failed, interrupted); the records
go to ``--out`` (appended to when resuming with ``--cursor``) or stdout. Exit status: 0 done,
1 stopped by an API or network error (the cursor to resume from is printed), 2 a usage/config
error, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

import anyio
from pydantic import ValidationError
from rich.console import Console

from mcp_paginate.app import AppContext, open_app
from mcp_paginate.arguments import PagingArguments
from mcp_paginate.config import AppConfig
from mcp_paginate.drain import Drain, DrainState, JsonLinesSink, Limits
from mcp_paginate.engine import Engine, Plan, Position
from mcp_paginate.errors import ConfigError, CursorError, InputError, PaginateError
from mcp_paginate.fetch_progress import FetchBar
from mcp_paginate.sessions import parse_cursor
from mcp_paginate.store import default_store_url
from mcp_paginate.terminal import Invocation, cli_console, cli_message

__all__ = ["run_fetch"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


@dataclass
class _Run:
    """What a drain has done so far; read after an interruption, so kept outside the event loop."""

    source: str
    out: str | None
    store_url: str
    config_path: str | None = None
    drained: DrainState = field(default_factory=DrainState)
    """The drain's own state, updated as each page is written."""
    before: int = 0
    finished: bool = False
    started: float = field(default_factory=time.monotonic)
    redact: Any = None

    @property
    def written(self) -> int:
        return self.drained.count

    @property
    def pages(self) -> int:
        return self.drained.pages

    @property
    def resume_cursor(self) -> str | None:
        return self.drained.cursor

    @property
    def stopped_at_limit(self) -> bool:
        return self.drained.stop_reason == "max_records"

    @property
    def resumable(self) -> bool:
        """Whether a later run can continue this one: a cursor, in a store that outlives the process."""
        return self.resume_cursor is not None and not self.store_url.startswith("memory:")

    def resume_command(self) -> str:
        assert self.resume_cursor is not None
        words = ["mcp-paginate", "fetch", self.source]
        if self.config_path:
            words += ["--config", self.config_path]
        if self.store_url != default_store_url():
            words += ["--store", self.store_url]
        if self.out:
            words += ["--out", self.out]
        words += ["--cursor", self.resume_cursor]
        return " ".join(shlex.quote(word) for word in words)


def run_fetch(
    config: AppConfig,
    *,
    source: str,
    params: Mapping[str, Any] | None,
    out: str | None,
    max_records: int | None,
    fields: list[str] | None,
    cursor: str | None,
    store_url: str,
    console: Console | None = None,
) -> int:
    """Drain ``source`` (or continue from ``cursor``) to JSON Lines; return the exit status."""
    console = console or cli_console(stderr=True)
    if max_records is not None and max_records < 1:
        return _fail(console, "--max-records must be at least 1", EXIT_USAGE)
    run = _Run(source=source, out=out, store_url=store_url, config_path=config.path)
    try:
        stream: TextIO = open(out, "a" if cursor else "w", encoding="utf-8") if out else sys.stdout  # noqa: SIM115
    except OSError as exc:
        return _fail(console, f"cannot write {out}: {exc.strerror or exc}", EXIT_USAGE)
    try:
        return anyio.run(
            _drain, config, run, stream, dict(params or {}), max_records, fields, cursor, console
        )
    except KeyboardInterrupt:
        return _interrupted(console, run)
    except PaginateError as exc:  # the store or config could not be opened
        return _fail(console, _message(run, exc), EXIT_USAGE)
    finally:
        if stream is not sys.stdout:
            stream.close()
        else:
            stream.flush()


async def _drain(
    config: AppConfig,
    run: _Run,
    stream: TextIO,
    params: dict[str, Any],
    max_records: int | None,
    fields: list[str] | None,
    cursor: str | None,
    console: Console,
) -> int:
    async with open_app(config, run.store_url) as app:
        run.redact = app.redactor.redact
        engine = Engine(app)
        args = PagingArguments(
            source=None if cursor else run.source,
            params=None if cursor else params,
            cursor=cursor,
            fields=fields,
        )
        try:
            if cursor is not None:
                await _check_cursor(app, cursor, run)
                if params:
                    console.print(
                        "[dim]note: -p params are fixed by the cursor's session and were ignored[/]"
                    )
            plan, start = await engine.open(args)
        except (ConfigError, InputError) as exc:
            return _fail(console, _message(run, exc), EXIT_USAGE)
        except PaginateError as exc:  # the store failed
            return _fail(console, f"stopped before any record: {_message(run, exc)}", EXIT_FAILED)
        run.before = (start.state.offset or 0) + start.skip
        run.drained.cursor = cursor
        with FetchBar(console, run.source) as bar:
            code = await _write(engine, plan, start, run, stream, max_records, bar, console)
    if code == EXIT_OK:
        run.finished = True
        return _summary(console, run)
    return code


async def _write(
    engine: Engine,
    plan: Plan,
    start: Position,
    run: _Run,
    stream: TextIO,
    max_records: int | None,
    bar: FetchBar,
    console: Console,
) -> int:
    """Run the drain into ``stream`` under ``bar``; end the bar as the drain ended."""

    async def show(count: int, total: int | None, message: str) -> None:
        _show(bar, run, total)

    try:
        drain = Drain(engine, plan, limits=Limits(max_records=max_records), progress=show, state=run.drained)
        await drain.run(JsonLinesSink(stream), start)
    except (ConfigError, InputError) as exc:
        if run.pages == 0:
            bar.discard()
            return _fail(console, _message(run, exc), EXIT_USAGE)
        return _stopped_by_error(console, bar, run, exc)
    except PaginateError as exc:
        return _stopped_by_error(console, bar, run, exc)
    done = run.before + run.written
    bar.update(total=done if not run.stopped_at_limit else bar.total, completed=done)
    bar.end("done")
    return EXIT_OK


async def _check_cursor(app: AppContext, cursor: str, run: _Run) -> None:
    """Check ``--cursor`` before the drain, so that what is wrong with it is said in terms of
    the command (the engine would say it in the tools' terms).

    Raises:
        CursorError: the cursor is malformed, unknown to this store, unreadable, of another
            source, or of a page not reached.
    """
    config = ["--config", run.config_path] if run.config_path else []
    again = f"start again without --cursor: {shlex.join(['mcp-paginate', 'fetch', run.source, *config])}"
    try:
        session_id, number, _ = parse_cursor(cursor)
    except CursorError:
        raise CursorError(
            f"--cursor {cursor!r} is not a cursor mcp-paginate printed; pass it exactly as an "
            f"interrupted or --max-records fetch printed it, or {again}"
        ) from None
    try:
        session = await app.store.get_session(session_id)
        reached = session is not None and await app.store.get_page(session_id, number) is not None
    except ValidationError:
        raise CursorError(
            f"that cursor was saved by another version of mcp-paginate and cannot be read; {again}"
        ) from None
    if session is None:
        raise CursorError(f"that cursor is unknown to this store (expired, or from another --store); {again}")
    if session.source != run.source:
        raise CursorError(f"that cursor continues source {session.source!r}, not {run.source!r}")
    if not reached:
        raise CursorError(
            f"that cursor names a page its session has not reached; pass the last --cursor a fetch "
            f"printed, or {again}"
        )


def _show(bar: FetchBar, run: _Run, total: int | None) -> None:
    elapsed = time.monotonic() - run.started
    rate = run.written / elapsed if elapsed > 0 else None
    bar.update(completed=run.before + run.written, total=total, pages=run.pages, rate=rate)


def _message(run: _Run, exc: PaginateError) -> str:
    text = cli_message(exc, Invocation(config_path=run.config_path, config_flag=run.config_path))
    return run.redact(text) if run.redact is not None else text


def _fail(console: Console, message: str, code: int) -> int:
    console.print(f"mcp-paginate: error: {message}", markup=False, highlight=False, soft_wrap=True)
    return code


def _stopped_by_error(console: Console, bar: FetchBar, run: _Run, exc: PaginateError) -> int:
    if run.pages:
        bar.end("failed")  # keep the last frame: it shows how far the drain got
    else:
        bar.discard()
    where = f"after {run.written:,} records" if run.pages else "before any record"
    message = f"stopped {where}: {_message(run, exc)}"
    if run.resumable and run.pages:
        message += f" — resume with: {run.resume_command()}"
    elif run.resume_cursor is not None and run.pages:
        message += f" — {_NOT_RESUMABLE}"
    return _fail(console, message, EXIT_FAILED)


def _interrupted(console: Console, run: _Run) -> int:
    if run.resume_cursor is None or run.pages == 0:
        console.print(
            f"interrupted after {run.written:,} records; nothing to resume, run the same command again",
            markup=False,
            highlight=False,
        )
        return EXIT_INTERRUPTED
    _resume_hint(console, run, f"interrupted after {run.written:,} records")
    return EXIT_INTERRUPTED


_NOT_RESUMABLE = (
    "--store memory:// forgot the session when this run ended, so no cursor can continue it; "
    "use a persistent store (the default, or sqlite:///PATH) for a resumable run"
)


def _resume_hint(console: Console, run: _Run, lead: str) -> None:
    if not run.resumable:
        console.print(f"{lead}; {_NOT_RESUMABLE}", markup=False, highlight=False)
        return
    console.print(f"{lead}; resume with:", markup=False, highlight=False)
    console.print(f"  {run.resume_command()}", markup=False, highlight=False, soft_wrap=True)


def _summary(console: Console, run: _Run) -> int:
    seconds = time.monotonic() - run.started
    where = run.out or "stdout"
    pages = f"{run.pages} page{'' if run.pages == 1 else 's'}"
    line = f"{run.written:,} records in {pages} to {where} ({seconds:.1f}s)"
    if run.stopped_at_limit:
        _resume_hint(console, run, f"{line}; stopped at --max-records")
    else:
        console.print(f"{line}; done", markup=False, highlight=False)
    return EXIT_OK
