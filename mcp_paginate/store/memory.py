"""``memory://``: a store in process memory, for tests and throwaway servers."""

from __future__ import annotations

import time
from typing import Any

from mcp_paginate.paginators import State
from mcp_paginate.sessions import ResultsMeta, SessionRecord
from mcp_paginate.store.base import PageSlot, Store

__all__ = ["MemoryStore"]


class MemoryStore(Store):
    """Sessions and results in dicts; oldest evicted past the limits."""

    def __init__(self, *, max_sessions: int = 10000, max_results: int = 200) -> None:
        self.url = "memory://"
        self.max_sessions = max_sessions
        self.max_results = max_results
        self._sessions: dict[str, SessionRecord] = {}
        self._pages: dict[str, dict[int, State]] = {}
        self._positions: dict[str, dict[str, int]] = {}
        self._results: dict[str, ResultsMeta] = {}
        self._chunks: dict[str, dict[int, list[Any]]] = {}
        self._values: dict[str, tuple[str, float]] = {}
        self._leases: dict[str, tuple[str, float]] = {}

    async def put_session(self, session: SessionRecord) -> None:
        self._sessions[session.id] = session
        self._pages.setdefault(session.id, {})
        self._positions.setdefault(session.id, {})
        while len(self._sessions) > self.max_sessions:
            oldest = min(self._sessions.values(), key=lambda s: s.created)
            self._drop_session(oldest.id)

    async def get_session(self, session_id: str) -> SessionRecord | None:
        session = self._sessions.get(session_id)
        if session is None or session.expires < time.time():
            return None
        return session

    async def add_page(self, session_id: str, number: int, state: State) -> PageSlot:
        pages = self._pages.setdefault(session_id, {})
        if number in pages:
            return PageSlot(pages[number])
        positions = self._positions.setdefault(session_id, {})
        key = state.position()
        earlier = positions.get(key)
        if earlier is not None and earlier != number:
            return PageSlot(state, repeats=earlier)
        pages[number] = state
        positions[key] = number
        return PageSlot(state)

    async def get_page(self, session_id: str, number: int) -> State | None:
        return self._pages.get(session_id, {}).get(number)

    async def put_results(self, meta: ResultsMeta) -> None:
        self._results[meta.id] = meta.model_copy()
        self._chunks.setdefault(meta.id, {})
        while len(self._results) > self.max_results:
            oldest = min(self._results.values(), key=lambda r: r.created)
            self._results.pop(oldest.id, None)
            self._chunks.pop(oldest.id, None)

    async def get_results(self, results_id: str) -> ResultsMeta | None:
        meta = self._results.get(results_id)
        if meta is None or meta.expires < time.time():
            return None
        return meta.model_copy()

    async def put_chunk(self, results_id: str, index: int, records: list[Any]) -> None:
        self._chunks.setdefault(results_id, {})[index] = list(records)

    async def get_chunk(self, results_id: str, index: int) -> list[Any] | None:
        return self._chunks.get(results_id, {}).get(index)

    async def put_value(self, name: str, value: str, expires: float) -> None:
        self._values[name] = (value, expires)

    async def get_value(self, name: str) -> str | None:
        value, expires = self._values.get(name, (None, 0.0))
        return value if expires >= time.time() else None

    async def take_lease(self, name: str, holder: str, seconds: float) -> bool:
        now = time.time()
        current, expires = self._leases.get(name, (None, 0.0))
        if current not in (None, holder) and expires >= now:
            return False
        self._leases[name] = (holder, now + seconds)
        return True

    async def drop_lease(self, name: str, holder: str) -> None:
        if self._leases.get(name, (None, 0.0))[0] == holder:
            del self._leases[name]

    async def purge_expired(self) -> int:
        now = time.time()
        for table in (self._values, self._leases):
            for name in [name for name, (_, expires) in table.items() if expires < now]:
                del table[name]
        expired = [s.id for s in self._sessions.values() if s.expires < now]
        for session_id in expired:
            self._drop_session(session_id)
        gone = [r.id for r in self._results.values() if r.expires < now]
        for results_id in gone:
            self._results.pop(results_id, None)
            self._chunks.pop(results_id, None)
        return len(expired) + len(gone)

    async def counts(self) -> dict[str, int]:
        now = time.time()
        return {
            "sessions": sum(1 for s in self._sessions.values() if s.expires >= now),
            "results": sum(1 for r in self._results.values() if r.expires >= now),
        }

    def _drop_session(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)
        self._pages.pop(session_id, None)
        self._positions.pop(session_id, None)
