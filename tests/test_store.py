"""One contract for every session store: memory://, sqlite:/// and redis:// (a real redis-server)."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
import redis

from mcp_paginate.arguments import PagingArguments
from mcp_paginate.errors import ConfigError, StoreError
from mcp_paginate.paginators import OffsetPagination, State
from mcp_paginate.sessions import ResultsMeta, SessionRecord, new_id
from mcp_paginate.store import PageSlot, Store, open_store
from tests.redis_server import free_port, redis_url  # noqa: F401 - the fixture, requested by name

pytestmark = pytest.mark.anyio

Opener = Callable[..., Store]

BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("redis", id="redis", marks=pytest.mark.redis),
]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    url = str(request.getfixturevalue("redis_url"))
    with redis.Redis.from_url(url) as client:
        client.flushdb()
    return url


@pytest.fixture
async def open_stores(store_url: str) -> AsyncIterator[Opener]:
    """Open store instances on the test's URL (for sqlite and redis, each is a separate "replica")."""
    opened: list[Store] = []

    def opener(**limits: int) -> Store:
        store = open_store(store_url, **limits)
        opened.append(store)
        return store

    yield opener
    for store in opened:
        await store.aclose()


@pytest.fixture
def store(open_stores: Opener) -> Store:
    return open_stores()


@pytest.fixture
def replica(open_stores: Opener, store: Store, store_url: str) -> Store:
    """A second instance sharing the first one's data (the same instance for memory://)."""
    return store if store_url == "memory://" else open_stores()


def make_session(*, ttl: float = 600.0, created: float | None = None, **fields: Any) -> SessionRecord:
    now = time.time()
    return SessionRecord(
        id=new_id(),
        pagination=OffsetPagination(),
        created=now if created is None else created,
        expires=now + ttl,
        **fields,
    )


def make_results(session_id: str, *, ttl: float = 600.0, created: float | None = None) -> ResultsMeta:
    now = time.time()
    return ResultsMeta(
        id=new_id(),
        session_id=session_id,
        created=now if created is None else created,
        expires=now + ttl,
    )


# -- sessions --------------------------------------------------------------------------------------


async def test_session_round_trips(store: Store) -> None:
    session = make_session(source="offset_total", params={"q": "x"}, page_size=40, owner="caller-1")
    await store.put_session(session)
    assert await store.get_session(session.id) == session
    assert await store.get_session(new_id()) is None


async def test_replacing_a_session_keeps_its_pages(store: Store) -> None:
    session = make_session()
    await store.put_session(session)
    await store.add_page(session.id, 0, State(offset=0))
    await store.add_page(session.id, 1, State(offset=40))
    replaced = session.model_copy(update={"detected": {"mode": "offset"}})
    await store.put_session(replaced)
    assert await store.get_session(session.id) == replaced
    assert await store.get_page(session.id, 1) == State(offset=40)


async def test_session_expired_in_the_past_is_gone(store: Store) -> None:
    session = make_session(ttl=-1.0, created=time.time() - 100)
    await store.put_session(session)
    assert await store.get_session(session.id) is None


async def test_session_expires_after_its_ttl(store: Store, store_url: str) -> None:
    session = make_session(ttl=0.5)
    await store.put_session(session)
    await store.add_page(session.id, 0, State(offset=0))
    assert await store.get_session(session.id) == session
    with anyio.fail_after(5):
        while await store.get_session(session.id) is not None:
            await anyio.sleep(0.05)  # waiting out a TTL, bounded by fail_after
    await store.purge_expired()
    assert await store.get_page(session.id, 0) is None
    if store_url.startswith("redis://"):
        with redis.Redis.from_url(store_url) as client:
            assert client.keys(f"*{session.id}*") == []


# -- pages -----------------------------------------------------------------------------------------


async def test_add_page_keeps_the_first_state(store: Store) -> None:
    session = make_session()
    await store.put_session(session)
    first = await store.add_page(session.id, 1, State(offset=40, learned_page_size=40))
    assert first.state == State(offset=40, learned_page_size=40) and first.repeats is None
    second = await store.add_page(session.id, 1, State(offset=99))
    assert second.state == State(offset=40, learned_page_size=40) and second.repeats is None
    assert await store.get_page(session.id, 1) == State(offset=40, learned_page_size=40)


async def test_repeated_position_names_the_earlier_page(store: Store) -> None:
    session = make_session()
    await store.put_session(session)
    await store.add_page(session.id, 0, State(cursor=None))
    await store.add_page(session.id, 1, State(cursor="abc"))
    await store.add_page(session.id, 2, State(cursor="def"))
    slot = await store.add_page(session.id, 3, State(cursor="abc", empty_run=1))
    assert slot.repeats == 1
    assert slot.state == State(cursor="abc", empty_run=1)
    assert await store.get_page(session.id, 3) is None
    other = make_session()
    await store.put_session(other)
    elsewhere = await store.add_page(other.id, 1, State(cursor="abc"))
    assert elsewhere.repeats is None, "positions are per session"


async def test_get_page_of_an_unreached_page_is_none(store: Store) -> None:
    session = make_session()
    await store.put_session(session)
    await store.add_page(session.id, 0, State(page=1))
    assert await store.get_page(session.id, 0) == State(page=1)
    assert await store.get_page(session.id, 1) is None
    assert await store.get_page(new_id(), 0) is None


# -- results ---------------------------------------------------------------------------------------


async def test_results_meta_and_chunks_round_trip(store: Store) -> None:
    meta = make_results(new_id())
    await store.put_results(meta)
    assert await store.get_results(meta.id) == meta
    chunks: list[list[Any]] = [
        [{"id": 1, "name": "ä"}, {"id": 2}],
        [],
        [{"id": 3, "nested": {"x": [1, None]}}],
    ]
    for index, records in enumerate(chunks):
        await store.put_chunk(meta.id, index, records)
    finished = meta.model_copy(update={"count": 3, "chunks": 3, "complete": True, "stop_reason": "exhausted"})
    await store.put_results(finished)
    assert await store.get_results(meta.id) == finished
    assert [await store.get_chunk(meta.id, index) for index in range(3)] == chunks
    assert await store.get_chunk(meta.id, 3) is None
    assert await store.get_results(new_id()) is None


async def test_chunks_keep_every_value_json_parses(store: Store) -> None:
    # What an API's JSON can hold: NaN and Infinity (Python's json reads them), integers beyond
    # 64 bits, floats at the edge, text beyond ASCII, deep nesting.
    meta = make_results(new_id())
    await store.put_results(meta)
    nested: Any = "deep"
    for _ in range(150):
        nested = [nested]
    records = [
        {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")},
        {"big": 12345678901234567890123, "neg": -(2**70), "tiny": 5e-324, "huge": 1.5e300},
        {"text": 'café \u2603 \U0001f600 "quoted" \\ \n', "nested": nested},
    ]
    await store.put_chunk(meta.id, 0, records)
    back = await store.get_chunk(meta.id, 0)
    assert json.dumps(back) == json.dumps(records)  # NaN != NaN; its JSON text is equal


async def test_results_expired_in_the_past_are_gone(store: Store) -> None:
    meta = make_results(new_id(), ttl=-1.0, created=time.time() - 100)
    await store.put_results(meta)
    await store.put_chunk(meta.id, 0, [1, 2])
    assert await store.get_results(meta.id) is None
    await store.purge_expired()
    assert await store.get_chunk(meta.id, 0) is None


# -- limits, purge, counts -------------------------------------------------------------------------


async def test_oldest_sessions_are_evicted_past_max_sessions(open_stores: Opener) -> None:
    store = open_stores(max_sessions=3)
    start = time.time() - 100
    sessions = [make_session(created=start + index) for index in range(5)]
    for session in sessions:
        await store.put_session(session)
        await store.add_page(session.id, 0, State(offset=0))
    assert [await store.get_session(s.id) is not None for s in sessions] == [False, False, True, True, True]
    assert await store.get_page(sessions[0].id, 0) is None
    assert await store.get_page(sessions[4].id, 0) == State(offset=0)
    assert (await store.counts())["sessions"] == 3


async def test_oldest_results_are_evicted_past_max_results(open_stores: Opener) -> None:
    store = open_stores(max_results=2)
    start = time.time() - 100
    metas = [make_results(new_id(), created=start + index) for index in range(3)]
    for meta in metas:
        await store.put_results(meta)
        await store.put_chunk(meta.id, 0, [meta.id])
    assert [await store.get_results(m.id) is not None for m in metas] == [False, True, True]
    assert await store.get_chunk(metas[0].id, 0) is None
    assert await store.get_chunk(metas[2].id, 0) == [metas[2].id]
    assert (await store.counts())["results"] == 2


async def test_purge_expired_removes_expired_sessions_and_results(store: Store) -> None:
    old = time.time() - 100
    expired = [make_session(ttl=-1.0, created=old), make_session(ttl=-5.0, created=old)]
    live = make_session()
    for session in [*expired, live]:
        await store.put_session(session)
        await store.add_page(session.id, 0, State(offset=0))
    gone_results = make_results(expired[0].id, ttl=-1.0, created=old)
    live_results = make_results(live.id)
    for meta in (gone_results, live_results):
        await store.put_results(meta)
        await store.put_chunk(meta.id, 0, ["r"])
    assert await store.purge_expired() == 3
    assert await store.purge_expired() == 0
    assert await store.counts() == {"sessions": 1, "results": 1}
    assert await store.get_session(live.id) == live
    assert await store.get_page(live.id, 0) == State(offset=0)
    assert await store.get_chunk(live_results.id, 0) == ["r"]
    assert await store.get_page(expired[0].id, 0) is None
    assert await store.get_chunk(gone_results.id, 0) is None


async def test_counts_are_live_sessions_and_results(store: Store) -> None:
    assert await store.counts() == {"sessions": 0, "results": 0}
    for _ in range(3):
        await store.put_session(make_session())
    await store.put_session(make_session(ttl=-1.0, created=time.time() - 100))
    await store.put_results(make_results(new_id()))
    await store.put_results(make_results(new_id(), ttl=-1.0, created=time.time() - 100))
    assert await store.counts() == {"sessions": 3, "results": 1}


# -- concurrent writers ----------------------------------------------------------------------------


async def test_racing_writers_of_one_page_all_get_the_winning_state(store: Store, replica: Store) -> None:
    session = make_session()
    await store.put_session(session)
    outcomes: list[State] = []

    async def write(index: int) -> None:
        writer = store if index % 2 else replica
        slot = await writer.add_page(session.id, 1, State(offset=40 + index, learned_page_size=index))
        assert slot.repeats is None
        outcomes.append(slot.state)

    with anyio.fail_after(20):
        async with anyio.create_task_group() as group:
            for index in range(24):
                group.start_soon(write, index)
    stored = await replica.get_page(session.id, 1)
    assert stored is not None
    assert outcomes == [stored] * 24
    assert await store.get_page(session.id, 1) == stored


async def test_racing_writers_of_distinct_pages_lose_nothing(store: Store, replica: Store) -> None:
    session = make_session()
    await store.put_session(session)
    expected = {number: State(cursor=f"token-{number}", page_size=25) for number in range(40)}

    async def write(number: int) -> None:
        writer = store if number % 2 else replica
        slot = await writer.add_page(session.id, number, expected[number])
        assert slot == type(slot)(expected[number])

    with anyio.fail_after(20):
        async with anyio.create_task_group() as group:
            for number in expected:
                group.start_soon(write, number)
    assert {number: await store.get_page(session.id, number) for number in expected} == expected


async def test_racing_writers_of_one_position_keep_one_page(store: Store, replica: Store) -> None:
    session = make_session()
    await store.put_session(session)
    await store.add_page(session.id, 0, State(cursor=None))
    slots = {}

    async def write(number: int, writer: Store) -> None:
        slots[number] = await writer.add_page(session.id, number, State(cursor="same"))

    with anyio.fail_after(20):
        async with anyio.create_task_group() as group:
            group.start_soon(write, 1, store)
            group.start_soon(write, 2, replica)
    winners = [number for number, slot in slots.items() if slot.repeats is None]
    assert len(winners) == 1
    (winner,) = winners
    loser = 3 - winner
    assert slots[loser].repeats == winner
    assert await store.get_page(session.id, winner) == State(cursor="same")
    assert await store.get_page(session.id, loser) is None


# -- redis specifics -------------------------------------------------------------------------------


@pytest.mark.redis
async def test_redis_keys_all_expire_and_chunks_are_separate_keys(redis_url: str) -> None:  # noqa: F811
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        client.flushdb()
    store = open_store(redis_url)
    try:
        session = make_session()
        await store.put_session(session)
        await store.add_page(session.id, 0, State(offset=0))
        await store.add_page(session.id, 1, State(offset=40))
        meta = make_results(session.id)
        await store.put_results(meta)
        for index in range(3):
            await store.put_chunk(meta.id, index, [{"id": index}])
        await store.put_results(meta.model_copy(update={"chunks": 3, "count": 3}))
    finally:
        await store.aclose()
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        keys = set(client.keys("*"))
        assert all(key.startswith("mcp-paginate:") for key in keys)
        chunk_keys = {key for key in keys if key.startswith(f"mcp-paginate:chunk:{meta.id}:")}
        assert len(chunk_keys) == 3
        indexes = {
            f"mcp-paginate:index:{kind}-by-{order}"
            for kind in ("sessions", "results")
            for order in ("created", "expiry")
        }
        assert indexes <= keys
        for key in keys - indexes:
            assert 0 < client.ttl(key) <= 601, key


async def test_redis_unreachable_is_a_store_error_naming_the_url_without_password() -> None:
    port = free_port()
    store = open_store(f"redis://reader:s3cret-pw@127.0.0.1:{port}/2")  # no I/O yet: nothing raised
    session = make_session()
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: store.put_session(session),
        lambda: store.get_session(session.id),
        lambda: store.add_page(session.id, 0, State()),
        lambda: store.get_page(session.id, 0),
        lambda: store.put_results(make_results(session.id)),
        lambda: store.get_results(new_id()),
        lambda: store.put_chunk(new_id(), 0, []),
        lambda: store.get_chunk(new_id(), 0),
        store.purge_expired,
        store.counts,
    ]
    messages: list[str] = []

    async def expect_store_error(call: Callable[[], Awaitable[object]]) -> None:
        with pytest.raises(StoreError) as caught:
            await call()
        assert caught.value.__cause__ is None
        messages.append(str(caught.value))

    try:
        with anyio.fail_after(20):
            async with anyio.create_task_group() as group:
                for call in calls:
                    group.start_soon(expect_store_error, call)
    finally:
        await store.aclose()
    expected = (
        f"session store unreachable at redis://127.0.0.1:{port}/2: connection refused; "
        "check the --store URL / that Redis is running"
    )
    assert messages == [expected] * len(calls)


def test_redis_url_that_cannot_be_parsed_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="invalid redis store URL"):
        open_store("redis://127.0.0.1:6379/not-a-db")


@pytest.mark.anyio
async def test_sqlite_write_waits_for_another_process_lock_without_blocking_the_event_loop(
    tmp_path: Path,
) -> None:
    """Writes run inline while SQLite can answer at once; when another process holds the write
    lock, the write waits for it in a worker thread and the event loop keeps running."""
    import sqlite3
    import threading

    path = tmp_path / "state.db"
    store = open_store(f"sqlite:///{path}")
    session = make_session()
    await store.put_session(session)
    other = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process mid-write
    released = threading.Event()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while not released.is_set():
            ticks += 1
            await anyio.sleep(0.01)

    def release_later() -> None:
        time.sleep(0.3)
        other.execute("COMMIT")
        released.set()

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(ticker)
            group.start_soon(anyio.to_thread.run_sync, release_later)
            slot = await store.add_page(session.id, 1, State(offset=10))
            assert released.is_set(), "the write went through while another connection held the lock"
        assert slot.repeats is None and await store.get_page(session.id, 1) == State(offset=10)
        assert ticks >= 5, "the event loop was blocked while the write waited for the lock"
    finally:
        other.close()
        await store.aclose()


@pytest.mark.anyio
async def test_a_session_this_version_cannot_read_is_a_cursor_error(tmp_path: Path) -> None:
    # A session stored by another version (here: an ad-hoc DELETE, refused since) failed to load
    # with a bare ValidationError, which reached the assistant as "Error executing tool".
    from mcp_paginate.app import open_app
    from mcp_paginate.config import AppConfig
    from mcp_paginate.errors import CursorError
    from mcp_paginate.sample import SampleAPI
    from mcp_paginate.tools import list_page

    with SampleAPI() as api:
        host = api.url.split("://", 1)[1]
        config = AppConfig.model_validate({"server": {"allowed_hosts": [host]}})
        store_url = f"sqlite:///{tmp_path / 'state.db'}"
        async with open_app(config, store_url) as app:
            first = await list_page(
                app, PagingArguments(request={"url": api.url + "/offset", "records": "items"})
            )
        assert first.next_cursor is not None
        database = sqlite3.connect(tmp_path / "state.db")
        with database:
            (data,) = database.execute("SELECT data FROM sessions").fetchone()
            session = json.loads(data)
            session["request"]["method"] = "DELETE"
            database.execute("UPDATE sessions SET data = ?", (json.dumps(session),))
        database.close()
        async with open_app(config, store_url) as app:
            with pytest.raises(CursorError, match="stored by another version"):
                await list_page(app, PagingArguments(cursor=first.next_cursor))


# -- connection pools under load -------------------------------------------------------------------


async def _page_through(store: Store, sessions: int, pages: int = 3) -> list[str]:
    """``sessions`` concurrent callers, each writing a session and reading back its pages; the errors."""
    errors: list[str] = []

    async def caller() -> None:
        session = make_session()
        try:
            await store.put_session(session)
            for number in range(pages):
                await store.add_page(session.id, number, State(offset=10 * number))
                assert await store.get_page(session.id, number) == State(offset=10 * number)
        except StoreError as exc:
            errors.append(str(exc))

    async with anyio.create_task_group() as group:
        for _ in range(sessions):
            group.start_soon(caller)
    return errors


@pytest.mark.redis
async def test_redis_calls_past_the_pool_size_wait_for_a_connection_and_all_succeed(
    redis_url: str,  # noqa: F811
) -> None:
    name = f"pool-{new_id()}"
    store = open_store(f"{redis_url}?max_connections=3&client_name={name}")
    try:
        with anyio.fail_after(30):
            errors = await _page_through(store, sessions=150)
        with redis.Redis.from_url(redis_url) as client:
            opened = [c for c in client.client_list() if c.get("name") == name]
    finally:
        await store.aclose()
    assert errors == []
    assert 1 <= len(opened) <= 3


@pytest.mark.redis
async def test_redis_wait_for_a_connection_is_bounded_by_pool_timeout(redis_url: str) -> None:  # noqa: F811
    store = open_store(f"{redis_url}?max_connections=2&pool_timeout=0.2")
    session = make_session()
    await store.put_session(session)
    outcomes: dict[str, float] = {}
    errors: list[str] = []
    started = time.monotonic()

    async def read(name: str) -> None:
        try:
            assert await store.get_session(session.id) == session
        except StoreError as exc:
            errors.append(str(exc))
        outcomes[name] = time.monotonic() - started

    try:
        with redis.Redis.from_url(redis_url) as client:
            client.execute_command("CLIENT", "PAUSE", "1500", "ALL")  # Redis answers no one for 1.5 s
        with anyio.fail_after(20):
            async with anyio.create_task_group() as group:
                group.start_soon(read, "first")
                group.start_soon(read, "second")
                await anyio.sleep(0.05)  # let both take the two connections before the third asks
                group.start_soon(read, "third")
    finally:
        await store.aclose()
    assert errors == [
        f"session store busy at {redis_url}: all 2 connections stayed in use for 0.2 s; retry, or raise "
        f"max_connections in the --store URL ({redis_url}?max_connections=4)"
    ]
    assert outcomes["third"] < 1.2 < outcomes["first"] and outcomes["second"] > 1.2


async def test_redis_down_fails_every_queued_caller_fast_with_the_unreachable_error() -> None:
    port = free_port()
    store = open_store(f"redis://127.0.0.1:{port}/0?max_connections=2")
    started = time.monotonic()
    try:
        with anyio.fail_after(30):
            errors = await _page_through(store, sessions=60)
    finally:
        await store.aclose()
    elapsed = time.monotonic() - started
    # One caller's connection attempt (with its retries) takes about half a second; 60 callers
    # queued two at a time behind such attempts would take 15 s.
    assert elapsed < 5, f"queued callers waited for attempts on a dead Redis ({elapsed:.1f} s)"
    assert (
        errors
        == [
            f"session store unreachable at redis://127.0.0.1:{port}/0: connection refused; "
            "check the --store URL / that Redis is running"
        ]
        * 60
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://127.0.0.1:6379/0?max_connections=0", "max_connections='0': it must be a whole number"),
        ("redis://127.0.0.1:6379/0?max_connections=2.5", "max_connections='2.5': it must be a whole"),
        ("redis://127.0.0.1:6379/0?pool_timeout=soon", "pool_timeout='soon': it must be a number of sec"),
        ("sqlite:///state.db?busy_timeout=-1", "busy_timeout='-1': it must be a number of seconds"),
        ("sqlite:///state.db?busy_timeout=inf", "busy_timeout='inf'"),
        ("sqlite:///state.db?journal=off", "unknown sqlite store URL option(s) journal; known: busy_timeout"),
    ],
)
def test_invalid_store_url_options_are_config_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        open_store(url)


async def test_store_url_options_are_read(tmp_path: Path) -> None:
    from mcp_paginate.store.redis import RedisStore
    from mcp_paginate.store.sqlite import SqliteStore

    store = open_store("redis://:pw@127.0.0.1:6379/3?max_connections=200&pool_timeout=2.5")
    assert isinstance(store, RedisStore)
    assert (store.max_connections, store.pool_timeout, store.url) == (200, 2.5, "redis://127.0.0.1:6379/3")
    default = open_store("redis://127.0.0.1:6379/0")
    assert isinstance(default, RedisStore)
    assert (default.max_connections, default.pool_timeout) == (64, 10.0)
    sqlite_store = open_store(f"sqlite:///{tmp_path / 'state.db'}?busy_timeout=2.5")
    try:
        assert isinstance(sqlite_store, SqliteStore)
        assert (sqlite_store.busy_timeout, sqlite_store.url) == (2.5, f"sqlite:///{tmp_path / 'state.db'}")
        assert (tmp_path / "state.db").exists()
    finally:
        await sqlite_store.aclose()


_HAMMER = """
import sys, anyio
from mcp_paginate.store import open_store
from tests.test_store import _page_through

async def main() -> None:
    store = open_store(sys.argv[1])
    errors = await _page_through(store, sessions=int(sys.argv[2]), pages=4)
    await store.aclose()
    print(len(errors), *errors[:3], sep="\\n")

anyio.run(main)
"""


async def test_sqlite_writers_in_several_processes_wait_for_each_other_without_errors(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    await open_store(url).aclose()  # the schema, before the processes race to create it
    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, "-c", _HAMMER, url, "150"]
    with anyio.fail_after(120):
        async with anyio.create_task_group() as group:
            done: list[subprocess.CompletedProcess[bytes]] = []

            async def run() -> None:
                done.append(await anyio.run_process(command, cwd=root, check=False))

            for _ in range(3):
                group.start_soon(run)
    for process in done:
        assert process.returncode == 0, process.stderr.decode()
        assert process.stdout.decode().strip() == "0", process.stdout.decode()
    store = open_store(url)
    try:
        assert (await store.counts())["sessions"] == 3 * 150
    finally:
        await store.aclose()


async def test_sqlite_wait_for_another_process_lock_is_bounded_by_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = open_store(f"sqlite:///{path}?busy_timeout=0.3")
    session = make_session()
    await store.put_session(session)
    other = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock and keeps it
    started = time.monotonic()
    try:
        with anyio.fail_after(20), pytest.raises(StoreError) as caught:
            await store.add_page(session.id, 1, State(offset=10))
        elapsed = time.monotonic() - started
        other.execute("COMMIT")
        assert await store.add_page(session.id, 1, State(offset=10)) == PageSlot(State(offset=10))
    finally:
        other.close()
        await store.aclose()
    assert 0.3 <= elapsed < 5
    assert str(caught.value) == (
        f"session store busy (sqlite:///{path}): another process kept the database locked for 0.3 s; "
        f"retry, or raise busy_timeout in the --store URL (sqlite:///{path}?busy_timeout=0.6)"
    )


# -- values and leases (fetch_all's drains across replicas) ---------------------------------------


async def test_values_round_trip_and_expire(store: Store, replica: Store) -> None:
    await store.put_value("drain-cursor:abc.3", '{"results_id": "r", "offset": 90}', time.time() + 600)
    assert await replica.get_value("drain-cursor:abc.3") == '{"results_id": "r", "offset": 90}'
    await store.put_value("drain-cursor:abc.3", "replaced", time.time() + 600)
    assert await replica.get_value("drain-cursor:abc.3") == "replaced"
    await store.put_value("old", "x", time.time() - 1)
    assert await store.get_value("old") is None
    assert await store.get_value("never-written") is None


async def test_a_lease_has_one_holder_until_dropped_or_expired(store: Store, replica: Store) -> None:
    assert await store.take_lease("drain:s1", "replica-a", 30)
    assert not await replica.take_lease("drain:s1", "replica-b", 30)
    assert await store.take_lease("drain:s1", "replica-a", 30)  # renewed by its holder
    assert await replica.take_lease("drain:other", "replica-b", 30)  # another name is another lease
    await replica.drop_lease("drain:s1", "replica-b")  # not its lease: nothing happens
    assert not await replica.take_lease("drain:s1", "replica-b", 30)
    await store.drop_lease("drain:s1", "replica-a")
    assert await replica.take_lease("drain:s1", "replica-b", 30)


async def test_a_lease_whose_holder_stopped_renewing_goes_to_the_next(store: Store, replica: Store) -> None:
    assert await store.take_lease("drain:s2", "dead-replica", 0.3)
    assert not await replica.take_lease("drain:s2", "replica-b", 30)
    with anyio.fail_after(5):
        while not await replica.take_lease("drain:s2", "replica-b", 30):
            await anyio.sleep(0.05)  # waiting out the lease, bounded by fail_after
    assert not await store.take_lease("drain:s2", "dead-replica", 0.3)


async def test_racing_replicas_get_a_free_lease_once(store: Store, replica: Store) -> None:
    taken: list[str] = []

    async def take(which: Store, holder: str) -> None:
        if await which.take_lease("drain:race", holder, 30):
            taken.append(holder)

    async with anyio.create_task_group() as group:
        for index in range(10):
            group.start_soon(take, store if index % 2 else replica, f"holder-{index}")
    assert len(taken) == 1


# -- get_position: the session and one page's state together (one Redis round trip) ----------------


async def test_position_is_the_session_and_the_page_state(store: Store, replica: Store) -> None:
    session = make_session(source="offset_total", owner="caller-1")
    await store.put_session(session)
    await store.add_page(session.id, 0, State(offset=0))
    await store.add_page(session.id, 1, State(offset=25))

    found, state = await replica.get_position(session.id, 1)
    assert found == session
    assert state == State(offset=25)
    assert (found, state) == (await replica.get_session(session.id), await replica.get_page(session.id, 1))


async def test_position_of_an_unreached_page_has_the_session_only(store: Store) -> None:
    session = make_session()
    await store.put_session(session)
    await store.add_page(session.id, 0, State(offset=0))
    assert await store.get_position(session.id, 7) == (session, None)


async def test_position_of_an_unknown_or_expired_session_is_empty(store: Store) -> None:
    assert await store.get_position("no-such-session", 0) == (None, None)
    expired = make_session(ttl=-1.0)
    await store.put_session(expired)
    await store.add_page(expired.id, 0, State(offset=0))
    assert await store.get_position(expired.id, 0) == (None, None)
