"""``redis://HOST:PORT/DB``: a store shared by several server replicas.

Keys (all under ``mcp-paginate:``), each with Redis expiry at the record's ``expires``::

    session:<id>            the SessionRecord (JSON)
    pages:<id>              hash: page number -> State (JSON)
    positions:<id>          hash: State.position() -> page number (loop detection)
    results:<id>            the ResultsMeta (JSON)
    chunk:<id>:<n>          chunk n of a result set: one page's records (bounded by the
                            response size cap), never one giant value
    chunks:<id>             set of the chunk numbers written
    value:<name>            a small value (`put_value`), expiring at its time
    lease:<name>            a lease: its holder, expiring when the lease does
    index:{sessions,results}-by-{created,expiry}
                            sorted sets (no expiry) for the limits (oldest evicted first),
                            ``counts`` and ``purge_expired``

Each write is one Lua script, so it is atomic across replicas: ``add_page``
inserts a page's state only if none is stored and its position is new, and every
racing caller gets back the state that won. The scripts are idempotent, so the
client's retries on a dropped connection cannot fork state. Redis errors become
`StoreError`s that name the URL (without its password).

Standalone Redis (or a primary with replicas) only: the scripts touch keys of
several sessions and the global indexes, which Redis Cluster would refuse.

Connections are opened as the load needs them, up to ``max_connections`` (default 64 per
server process); past that a call *waits* for a free one, up to ``pool_timeout`` seconds
(default 10), instead of failing: a burst of concurrent tool calls queues for a few
milliseconds rather than erroring. Both are store URL options::

    redis://HOST:6379/0?max_connections=128&pool_timeout=5

A Redis that is down still fails a call within about a second: once a call has found it
unreachable, calls that would queue behind it fail at once (`ConnectionGate`).

Example::

    store = RedisStore("redis://127.0.0.1:6379/0")   # no I/O until the first call
    await store.put_session(session)
"""

from __future__ import annotations

import math
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.backoff import EqualJitterBackoff
from redis.exceptions import AuthenticationError, RedisError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from mcp_paginate.errors import ConfigError, StoreError
from mcp_paginate.paginators import State
from mcp_paginate.sessions import ResultsMeta, SessionRecord
from mcp_paginate.store.base import PageSlot, Store, dump_records, load_records, number_option, take_options
from mcp_paginate.store.gate import ConnectionGate, GateBusy, GateDown

__all__ = ["DEFAULT_MAX_CONNECTIONS", "DEFAULT_POOL_TIMEOUT_SECONDS", "KEY_PREFIX", "RedisStore"]

KEY_PREFIX = "mcp-paginate:"

DEFAULT_MAX_CONNECTIONS = 64
"""Connections one server process may open to Redis (``?max_connections=``); opened on demand."""

DEFAULT_POOL_TIMEOUT_SECONDS = 10.0
"""How long a call waits for a free connection when all are in use (``?pool_timeout=``)."""

_POOL_OPTIONS = frozenset({"max_connections", "pool_timeout"})

_ORPHAN_TTL_MS = 24 * 3600 * 1000
"""Expiry of pages or chunks whose session or result set is gone (evicted mid-fetch): never forever."""

_PURGE_BATCH = 500

# KEYS: session, pages, positions, sessions by created, sessions by expiry
# ARGV: id, json, created, expires, expires (ms), max_sessions, prefix
_PUT_SESSION = """
redis.call('SET', KEYS[1], ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
redis.call('PEXPIREAT', KEYS[2], ARGV[5])
redis.call('PEXPIREAT', KEYS[3], ARGV[5])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[4], ARGV[1])
local excess = redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[6])
if excess > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[4], 0, excess - 1)) do
    redis.call('DEL', ARGV[7] .. 'session:' .. id, ARGV[7] .. 'pages:' .. id, ARGV[7] .. 'positions:' .. id)
    redis.call('ZREM', KEYS[4], id)
    redis.call('ZREM', KEYS[5], id)
  end
end
return 0
"""

# KEYS: pages, positions, session   ARGV: number, position, state json, fallback ttl (ms)
# Returns {0, stored state} if the page was there, {1, earlier page} on a repeated position,
# {2, ''} when inserted.
_ADD_PAGE = """
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if stored then
  return {0, stored}
end
local earlier = redis.call('HGET', KEYS[2], ARGV[2])
if earlier then
  return {1, earlier}
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
local ttl = redis.call('PTTL', KEYS[3])
if ttl <= 0 then
  ttl = tonumber(ARGV[4])
end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return {2, ''}
"""

# KEYS: meta, chunk index set, results by created, results by expiry
# ARGV: id, json, created, expires, expires (ms), max_results, prefix
_PUT_RESULTS = """
redis.call('SET', KEYS[1], ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
for _, index in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  redis.call('PEXPIREAT', ARGV[7] .. 'chunk:' .. ARGV[1] .. ':' .. index, ARGV[5])
end
redis.call('PEXPIREAT', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
local excess = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[6])
if excess > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, excess - 1)) do
    local chunks = ARGV[7] .. 'chunks:' .. id
    for _, index in ipairs(redis.call('SMEMBERS', chunks)) do
      redis.call('DEL', ARGV[7] .. 'chunk:' .. id .. ':' .. index)
    end
    redis.call('DEL', ARGV[7] .. 'results:' .. id, chunks)
    redis.call('ZREM', KEYS[3], id)
    redis.call('ZREM', KEYS[4], id)
  end
end
return 0
"""

# KEYS: chunk, chunk index set, meta   ARGV: index, records json, fallback ttl (ms)
_PUT_CHUNK = """
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
local ttl = redis.call('PTTL', KEYS[3])
if ttl <= 0 then
  ttl = tonumber(ARGV[3])
end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return 0
"""

# KEYS: lease   ARGV: holder, milliseconds.  Returns 1 if the holder holds the lease now.
_TAKE_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

# KEYS: lease   ARGV: holder
_DROP_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS: sessions by created, sessions by expiry, results by created, results by expiry
# ARGV: now, batch, prefix.  Returns {sessions removed, results removed} (at most batch each).
_PURGE = """
local bound = '(' .. ARGV[1]
local sessions = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', bound, 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(sessions) do
  redis.call('DEL', ARGV[3] .. 'session:' .. id, ARGV[3] .. 'pages:' .. id, ARGV[3] .. 'positions:' .. id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
local results = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', bound, 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(results) do
  local chunks = ARGV[3] .. 'chunks:' .. id
  for _, index in ipairs(redis.call('SMEMBERS', chunks)) do
    redis.call('DEL', ARGV[3] .. 'chunk:' .. id .. ':' .. index)
  end
  redis.call('DEL', ARGV[3] .. 'results:' .. id, chunks)
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
end
return {#sessions, #results}
"""


class RedisStore(Store):
    """Sessions, pages and results in Redis, shared by every replica pointing at it.

    The constructor does no I/O (the client connects on first use), so a server
    starts even while Redis is down; calls then fail with a `StoreError`.

    Raises:
        ConfigError: the URL cannot be parsed.
    """

    def __init__(self, url: str, *, max_sessions: int = 10000, max_results: int = 200) -> None:
        try:
            connect_url, options = take_options(url, _POOL_OPTIONS)
            parse_url(connect_url)
            database = urlsplit(url).path.strip("/")
        except ValueError as exc:
            raise ConfigError(f"invalid redis store URL: {exc}") from None
        if database and not database.isdigit():
            raise ConfigError(
                f"invalid redis store URL: the database must be a number, e.g. redis://HOST:6379/0, "
                f"not {database!r}"
            )
        self.max_connections = int(
            number_option(options, "max_connections", DEFAULT_MAX_CONNECTIONS, integer=True)
        )
        self.pool_timeout = number_option(options, "pool_timeout", DEFAULT_POOL_TIMEOUT_SECONDS)
        self._connect_url = connect_url
        self._gate = ConnectionGate(self.max_connections, timeout=self.pool_timeout)
        self.url = _public_url(url)
        self.max_sessions = max_sessions
        self.max_results = max_results
        self._client: Redis | None = None
        self._scripts: dict[str, Any] = {}

    # -- connection and errors ------------------------------------------------------------------

    def _redis(self) -> Redis:
        if self._client is None:
            # The gate (see _guard) keeps to max_connections calls at once; a blocking pool of the
            # same size backs it, so a call would wait rather than fail with "Too many connections".
            pool = BlockingConnectionPool.from_url(
                self._connect_url,
                max_connections=self.max_connections,
                timeout=self.pool_timeout,
                decode_responses=True,
                socket_connect_timeout=5.0,
                socket_timeout=5.0,
                health_check_interval=30,
                # A few quick retries ride out a failover or a dropped idle connection; a Redis
                # that is down should fail the tool call within about a second, not hang it.
                retry=Retry(EqualJitterBackoff(cap=0.5, base=0.05), retries=3),
            )
            client = Redis.from_pool(pool)
            self._scripts = {
                "put_session": client.register_script(_PUT_SESSION),
                "add_page": client.register_script(_ADD_PAGE),
                "put_results": client.register_script(_PUT_RESULTS),
                "put_chunk": client.register_script(_PUT_CHUNK),
                "purge": client.register_script(_PURGE),
                "take_lease": client.register_script(_TAKE_LEASE),
                "drop_lease": client.register_script(_DROP_LEASE),
            }
            self._client = client
        return self._client

    @asynccontextmanager
    async def _guard(self) -> AsyncIterator[Redis]:
        """The client, for one command or script: a connection slot is held (waiting for one if
        all are busy), and Redis failures are turned into `StoreError`s that say what to check."""
        try:
            async with self._gate.slot():
                try:
                    yield self._redis()
                except AuthenticationError:
                    raise
                except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                    self._gate.failed(_reason(exc))
                    raise
                except RedisError:
                    self._gate.succeeded()  # Redis answered, if with an error
                    raise
                self._gate.succeeded()
        except GateBusy as exc:
            raise StoreError(
                f"session store busy at {self.url}: {exc}; retry, or raise max_connections in the "
                f"--store URL ({self.url}?max_connections={2 * self.max_connections})"
            ) from None
        except GateDown as exc:
            raise StoreError(self._unreachable(str(exc))) from None
        except AuthenticationError as exc:
            raise StoreError(
                f"session store at {self.url} refused the credentials ({_reason(exc)}); "
                "check the user and password in the --store URL"
            ) from None
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise StoreError(self._unreachable(_reason(exc))) from None
        except RedisError as exc:
            raise StoreError(f"session store error at {self.url}: {_reason(exc)}") from None

    def _unreachable(self, reason: str) -> str:
        return (
            f"session store unreachable at {self.url}: {reason}; "
            "check the --store URL / that Redis is running"
        )

    async def _script(self, name: str, keys: list[str], args: list[str | int | float]) -> Any:
        async with self._guard():
            return await self._scripts[name](keys=keys, args=args)

    # -- sessions and pages ---------------------------------------------------------------------

    async def put_session(self, session: SessionRecord) -> None:
        await self._script(
            "put_session",
            [
                _key("session", session.id),
                _key("pages", session.id),
                _key("positions", session.id),
                _key("index", "sessions-by-created"),
                _key("index", "sessions-by-expiry"),
            ],
            [
                session.id,
                session.model_dump_json(),
                repr(session.created),
                repr(session.expires),
                _millis(session.expires),
                self.max_sessions,
                KEY_PREFIX,
            ],
        )

    async def get_session(self, session_id: str) -> SessionRecord | None:
        async with self._guard() as redis:
            data = await redis.get(_key("session", session_id))
        if data is None:
            return None
        session = SessionRecord.model_validate_json(data)
        return None if session.expires < time.time() else session

    async def add_page(self, session_id: str, number: int, state: State) -> PageSlot:
        outcome, value = await self._script(
            "add_page",
            [_key("pages", session_id), _key("positions", session_id), _key("session", session_id)],
            [number, state.position(), state.model_dump_json(), _ORPHAN_TTL_MS],
        )
        if int(outcome) == 0:
            return PageSlot(State.model_validate_json(value))
        if int(outcome) == 1:
            return PageSlot(state, repeats=int(value))
        return PageSlot(state)

    async def get_page(self, session_id: str, number: int) -> State | None:
        async with self._guard() as redis:
            data = await redis.hget(_key("pages", session_id), str(number))
        return None if data is None else State.model_validate_json(data)

    # -- results --------------------------------------------------------------------------------

    async def get_position(self, session_id: str, number: int) -> tuple[SessionRecord | None, State | None]:
        # One round trip instead of two: the hot path of every continued list_page.
        async with self._guard() as redis, redis.pipeline(transaction=False) as pipe:
            pipe.get(_key("session", session_id))
            pipe.hget(_key("pages", session_id), str(number))
            data, page = await pipe.execute()
        if data is None:
            return None, None
        session = SessionRecord.model_validate_json(data)
        if session.expires < time.time():
            return None, None
        return session, None if page is None else State.model_validate_json(page)

    async def put_results(self, meta: ResultsMeta) -> None:
        await self._script(
            "put_results",
            [
                _key("results", meta.id),
                _key("chunks", meta.id),
                _key("index", "results-by-created"),
                _key("index", "results-by-expiry"),
            ],
            [
                meta.id,
                meta.model_dump_json(),
                repr(meta.created),
                repr(meta.expires),
                _millis(meta.expires),
                self.max_results,
                KEY_PREFIX,
            ],
        )

    async def get_results(self, results_id: str) -> ResultsMeta | None:
        async with self._guard() as redis:
            data = await redis.get(_key("results", results_id))
        if data is None:
            return None
        meta = ResultsMeta.model_validate_json(data)
        return None if meta.expires < time.time() else meta

    async def put_chunk(self, results_id: str, index: int, records: list[Any]) -> None:
        await self._script(
            "put_chunk",
            [_key("chunk", f"{results_id}:{index}"), _key("chunks", results_id), _key("results", results_id)],
            [index, dump_records(records), _ORPHAN_TTL_MS],
        )

    async def get_chunk(self, results_id: str, index: int) -> list[Any] | None:
        async with self._guard() as redis:
            data = await redis.get(_key("chunk", f"{results_id}:{index}"))
        return None if data is None else load_records(data)

    # -- values and leases -----------------------------------------------------------------------

    async def put_value(self, name: str, value: str, expires: float) -> None:
        async with self._guard() as redis:
            await redis.set(_key("value", name), value, pxat=_millis(expires))

    async def get_value(self, name: str) -> str | None:
        async with self._guard() as redis:
            value = await redis.get(_key("value", name))
        return None if value is None else str(value)

    async def take_lease(self, name: str, holder: str, seconds: float) -> bool:
        milliseconds = max(1, math.ceil(seconds * 1000))
        return bool(await self._script("take_lease", [_key("lease", name)], [holder, milliseconds]))

    async def drop_lease(self, name: str, holder: str) -> None:
        await self._script("drop_lease", [_key("lease", name)], [holder])

    # -- housekeeping ---------------------------------------------------------------------------

    async def purge_expired(self) -> int:
        """Drop index entries (and any leftover keys) of expired sessions and results.

        Redis deletes the expired keys themselves; this keeps the sorted sets that
        drive the limits and `counts` from growing.
        """
        keys = [
            _key("index", "sessions-by-created"),
            _key("index", "sessions-by-expiry"),
            _key("index", "results-by-created"),
            _key("index", "results-by-expiry"),
        ]
        now = repr(time.time())
        removed = 0
        while True:
            sessions, results = await self._script("purge", keys, [now, _PURGE_BATCH, KEY_PREFIX])
            removed += int(sessions) + int(results)
            if int(sessions) < _PURGE_BATCH and int(results) < _PURGE_BATCH:
                return removed

    async def counts(self) -> dict[str, int]:
        now = repr(time.time())
        async with self._guard() as redis:
            sessions = await redis.zcount(_key("index", "sessions-by-expiry"), now, "+inf")
            results = await redis.zcount(_key("index", "results-by-expiry"), now, "+inf")
        return {"sessions": int(sessions), "results": int(results)}

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            # Closing sockets to a Redis that is gone has nothing left to do.
            with suppress(RedisError, OSError):
                await client.aclose()


def _key(kind: str, name: str) -> str:
    return f"{KEY_PREFIX}{kind}:{name}"


def _millis(timestamp: float) -> int:
    # Never 0 or negative: PEXPIREAT with a past time deletes the key, which is what an
    # already-expired record should get, but Redis rejects non-integers and huge values.
    return max(1, math.ceil(timestamp * 1000))


def _public_url(url: str) -> str:
    """The URL without user or password: ``redis://host:port/db``."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port or 6379
    except ValueError:
        port = 6379
    database = parts.path.lstrip("/") or "0"
    return f"{parts.scheme}://{host}:{port}/{database}"


def _reason(exc: BaseException) -> str:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 5:
        chain.append(current)
        current = current.__cause__ or current.__context__
    text = str(exc).strip() or type(exc).__name__
    lowered = text.lower()
    if (
        any(isinstance(e, ConnectionRefusedError) for e in chain)
        or "refused" in lowered
        or "error 111 " in lowered
    ):
        return "connection refused"
    if any(isinstance(e, socket.gaierror) for e in chain) or "name or service not known" in lowered:
        return "unknown host"
    if any(isinstance(e, RedisTimeoutError | TimeoutError) for e in chain) or "timeout" in lowered:
        return "timed out"
    return text[:200]
