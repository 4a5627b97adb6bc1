"""``sqlite:///PATH``: the default store; survives restarts of the MCP host's server process.

One connection in WAL mode, used under a lock: on the event loop when SQLite can answer at
once, from a worker thread when it must wait; several server processes may share the file
(SQLite's own locking): a write that finds the file locked by another process waits
for it, up to ``busy_timeout`` seconds (default 10; ``sqlite:///PATH?busy_timeout=30``),
then fails with a `StoreError` that says so. Page
inserts are ``INSERT OR IGNORE`` with a unique (session, position) index, so a race
between two callers keeps one state per page and still detects loops.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread

from mcp_paginate.errors import StoreError
from mcp_paginate.paginators import State
from mcp_paginate.sessions import ResultsMeta, SessionRecord
from mcp_paginate.store.base import PageSlot, Store, dump_records, load_records

__all__ = ["DEFAULT_BUSY_TIMEOUT_SECONDS", "SqliteStore"]

_T = TypeVar("_T")

DEFAULT_BUSY_TIMEOUT_SECONDS = 10.0
"""How long a call waits for another process's write lock (``?busy_timeout=``)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, data TEXT NOT NULL, created REAL NOT NULL, expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS pages (
    session_id TEXT NOT NULL, number INTEGER NOT NULL, position TEXT NOT NULL, state TEXT NOT NULL,
    PRIMARY KEY (session_id, number)
);
CREATE UNIQUE INDEX IF NOT EXISTS pages_position ON pages (session_id, position);
CREATE TABLE IF NOT EXISTS results (
    id TEXT PRIMARY KEY, data TEXT NOT NULL, created REAL NOT NULL, expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    results_id TEXT NOT NULL, idx INTEGER NOT NULL, records TEXT NOT NULL, PRIMARY KEY (results_id, idx)
);
CREATE TABLE IF NOT EXISTS "values" (
    name TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires);
CREATE INDEX IF NOT EXISTS results_expires ON results (expires);
"""


class SqliteStore(Store):
    """Sessions, pages and results in one SQLite file."""

    def __init__(
        self,
        path: Path,
        *,
        max_sessions: int = 10000,
        max_results: int = 200,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT_SECONDS,
    ) -> None:
        self.url = f"sqlite:///{path}"
        self.max_sessions = max_sessions
        self.max_results = max_results
        self.busy_timeout = busy_timeout
        self._busy_timeout_ms = max(1, round(busy_timeout * 1000))
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(path), check_same_thread=False, timeout=busy_timeout, isolation_level=None
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.execute("PRAGMA busy_timeout = 0")  # see _run
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the session store at {path}: {exc}") from exc

    async def _run(self, function: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``function`` on the connection: inline when that cannot block, else in a thread.

        These statements take tens of microseconds, far less than a hop to a worker thread
        and back, so they run on the event loop whenever the connection is free and SQLite
        can answer at once (``busy_timeout`` 0). Only when another process holds the write
        lock (or another call holds the connection) does the call wait, in a worker thread,
        with the full busy timeout, so the event loop never blocks on a lock.
        """
        if self._lock.acquire(blocking=False):
            try:
                return function(self._db)
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise StoreError(f"session store error ({self.url}): {exc}") from exc
                _rollback(self._db)
            except sqlite3.Error as exc:
                raise StoreError(f"session store error ({self.url}): {exc}") from exc
            finally:
                self._lock.release()

        def waiting() -> _T:
            with self._lock:
                self._db.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
                try:
                    return function(self._db)
                except sqlite3.OperationalError as exc:
                    if not _is_busy(exc):
                        raise StoreError(f"session store error ({self.url}): {exc}") from exc
                    _rollback(self._db)
                    raise StoreError(
                        f"session store busy ({self.url}): another process kept the database locked "
                        f"for {self.busy_timeout:g} s; retry, or raise busy_timeout in the --store URL "
                        f"({self.url}?busy_timeout={2 * self.busy_timeout:g})"
                    ) from None
                except sqlite3.Error as exc:
                    raise StoreError(f"session store error ({self.url}): {exc}") from exc
                finally:
                    self._db.execute("PRAGMA busy_timeout = 0")

        return await anyio.to_thread.run_sync(waiting)

    async def put_session(self, session: SessionRecord) -> None:
        data = session.model_dump_json()

        def write(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT OR REPLACE INTO sessions (id, data, created, expires) VALUES (?, ?, ?, ?)",
                (session.id, data, session.created, session.expires),
            )
            (count,) = db.execute("SELECT count(*) FROM sessions").fetchone()
            if count > self.max_sessions:
                victims = db.execute(
                    "SELECT id FROM sessions ORDER BY created LIMIT ?", (count - self.max_sessions,)
                ).fetchall()
                _delete_sessions(db, [v[0] for v in victims])

        await self._run(write)

    async def get_session(self, session_id: str) -> SessionRecord | None:
        row = await self._run(
            lambda db: db.execute(
                "SELECT data FROM sessions WHERE id = ? AND expires >= ?", (session_id, time.time())
            ).fetchone()
        )
        return None if row is None else SessionRecord.model_validate_json(row[0])

    async def add_page(self, session_id: str, number: int, state: State) -> PageSlot:
        position, data = state.position(), state.model_dump_json()

        def write(db: sqlite3.Connection) -> PageSlot:
            # One statement in the common case (a new page at a new position); the unique indexes
            # make it atomic. Only when it was ignored do we look at which of them it hit.
            inserted = db.execute(
                "INSERT OR IGNORE INTO pages (session_id, number, position, state) VALUES (?, ?, ?, ?)",
                (session_id, number, position, data),
            ).rowcount
            if inserted:
                return PageSlot(state)
            row = db.execute(
                "SELECT state FROM pages WHERE session_id = ? AND number = ?", (session_id, number)
            ).fetchone()
            if row is not None:
                return PageSlot(State.model_validate_json(row[0]))
            earlier = db.execute(
                "SELECT number FROM pages WHERE session_id = ? AND position = ?", (session_id, position)
            ).fetchone()
            if earlier is not None:
                return PageSlot(state, repeats=int(earlier[0]))
            raise sqlite3.OperationalError("page insert ignored without a conflicting row; database is busy")

        return await self._run(write)

    async def get_page(self, session_id: str, number: int) -> State | None:
        row = await self._run(
            lambda db: db.execute(
                "SELECT state FROM pages WHERE session_id = ? AND number = ?", (session_id, number)
            ).fetchone()
        )
        return None if row is None else State.model_validate_json(row[0])

    async def get_position(self, session_id: str, number: int) -> tuple[SessionRecord | None, State | None]:
        def read(db: sqlite3.Connection) -> tuple[Any, Any]:
            session = db.execute(
                "SELECT data FROM sessions WHERE id = ? AND expires >= ?", (session_id, time.time())
            ).fetchone()
            if session is None:
                return None, None
            page = db.execute(
                "SELECT state FROM pages WHERE session_id = ? AND number = ?", (session_id, number)
            ).fetchone()
            return session[0], None if page is None else page[0]

        data, page = await self._run(read)
        if data is None:
            return None, None
        return SessionRecord.model_validate_json(data), None if page is None else State.model_validate_json(
            page
        )

    async def put_results(self, meta: ResultsMeta) -> None:
        data = meta.model_dump_json()

        def write(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT OR REPLACE INTO results (id, data, created, expires) VALUES (?, ?, ?, ?)",
                (meta.id, data, meta.created, meta.expires),
            )
            (count,) = db.execute("SELECT count(*) FROM results").fetchone()
            if count > self.max_results:
                victims = db.execute(
                    "SELECT id FROM results ORDER BY created LIMIT ?", (count - self.max_results,)
                ).fetchall()
                _delete_results(db, [v[0] for v in victims])

        await self._run(write)

    async def get_results(self, results_id: str) -> ResultsMeta | None:
        row = await self._run(
            lambda db: db.execute(
                "SELECT data FROM results WHERE id = ? AND expires >= ?", (results_id, time.time())
            ).fetchone()
        )
        return None if row is None else ResultsMeta.model_validate_json(row[0])

    async def put_chunk(self, results_id: str, index: int, records: list[Any]) -> None:
        data = dump_records(records)
        await self._run(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO chunks (results_id, idx, records) VALUES (?, ?, ?)",
                (results_id, index, data),
            )
        )

    async def get_chunk(self, results_id: str, index: int) -> list[Any] | None:
        row = await self._run(
            lambda db: db.execute(
                "SELECT records FROM chunks WHERE results_id = ? AND idx = ?", (results_id, index)
            ).fetchone()
        )
        return None if row is None else load_records(row[0])

    async def put_value(self, name: str, value: str, expires: float) -> None:
        await self._run(
            lambda db: db.execute(
                'INSERT OR REPLACE INTO "values" (name, value, expires) VALUES (?, ?, ?)',
                (name, value, expires),
            )
        )

    async def get_value(self, name: str) -> str | None:
        row = await self._run(
            lambda db: db.execute(
                'SELECT value FROM "values" WHERE name = ? AND expires >= ?', (name, time.time())
            ).fetchone()
        )
        return None if row is None else str(row[0])

    async def take_lease(self, name: str, holder: str, seconds: float) -> bool:
        now = time.time()

        def take(db: sqlite3.Connection) -> bool:
            # One statement: an upsert that only overwrites a lease that is ours or expired.
            taken = db.execute(
                "INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE "
                "SET holder = excluded.holder, expires = excluded.expires "
                "WHERE leases.holder = excluded.holder OR leases.expires < ?",
                (name, holder, now + seconds, now),
            ).rowcount
            return bool(taken)

        return await self._run(take)

    async def drop_lease(self, name: str, holder: str) -> None:
        await self._run(
            lambda db: db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))
        )

    async def purge_expired(self) -> int:
        now = time.time()

        def purge(db: sqlite3.Connection) -> int:
            db.execute('DELETE FROM "values" WHERE expires < ?', (now,))
            db.execute("DELETE FROM leases WHERE expires < ?", (now,))
            sessions = [r[0] for r in db.execute("SELECT id FROM sessions WHERE expires < ?", (now,))]
            results = [r[0] for r in db.execute("SELECT id FROM results WHERE expires < ?", (now,))]
            _delete_sessions(db, sessions)
            _delete_results(db, results)
            return len(sessions) + len(results)

        return await self._run(purge)

    async def counts(self) -> dict[str, int]:
        def count(db: sqlite3.Connection) -> dict[str, int]:
            now = time.time()
            (sessions,) = db.execute("SELECT count(*) FROM sessions WHERE expires >= ?", (now,)).fetchone()
            (results,) = db.execute("SELECT count(*) FROM results WHERE expires >= ?", (now,)).fetchone()
            return {"sessions": int(sessions), "results": int(results)}

        return await self._run(count)

    async def aclose(self) -> None:
        await self._run(lambda db: db.close())


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def _rollback(db: sqlite3.Connection) -> None:
    """Leave no transaction open after a statement gave up on a lock."""
    if db.in_transaction:
        db.execute("ROLLBACK")


def _delete_sessions(db: sqlite3.Connection, ids: list[str]) -> None:
    for session_id in ids:
        db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
        db.execute("DELETE FROM pages WHERE session_id = ?", (session_id,))


def _delete_results(db: sqlite3.Connection, ids: list[str]) -> None:
    for results_id in ids:
        db.execute("DELETE FROM results WHERE id = ?", (results_id,))
        db.execute("DELETE FROM chunks WHERE results_id = ?", (results_id,))
