"""Several ``mcp-paginate serve --transport http`` replicas on one Redis: any replica continues any cursor.

Each replica is a real subprocess started from the console script; the client is the real
MCP `Client` over streamable HTTP with a bearer token, as a team deployment would run it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
import redis
from anyio.abc import SocketStream, TaskGroup
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import TextContent, TextResourceContents

from mcp_paginate.sample import SampleAPI
from tests.conftest import structured
from tests.redis_server import free_port, redis_url  # noqa: F401 - the fixture, requested by name
from tests.support import ALL_IDS, sample_sources

pytestmark = [pytest.mark.anyio, pytest.mark.redis]

TOKEN = "team-token-3c9e"
START_TIMEOUT_SECONDS = 30.0


class ReplicaExited(RuntimeError):
    """A replica process ended before answering /health."""


class Replica:
    """One ``mcp-paginate serve --transport http`` process on a free loopback port."""

    def __init__(self, store_url: str, config: Path, log: Path) -> None:
        self.port = free_port()
        self.store_url = store_url
        self.config = config
        self.log = log
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        command = [
            *_console_script(),
            "serve",
            "--transport", "http",
            "--port", str(self.port),
            "--store", self.store_url,
            "--config", str(self.config),
        ]  # fmt: skip
        environment = {k: v for k, v in os.environ.items() if not k.startswith("MCP_PAGINATE_")}
        environment["MCP_PAGINATE_AUTH_TOKEN"] = TOKEN
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=environment
            )
        with anyio.fail_after(START_TIMEOUT_SECONDS):
            while not await self.healthy():
                if self.process.poll() is not None:
                    raise ReplicaExited(f"replica on port {self.port} exited:\n{self.output()}")
                await anyio.sleep(0.05)  # polling a child process's readiness

    async def healthy(self) -> bool:
        try:
            async with httpx2.AsyncClient(timeout=2.0) as http:
                response = await http.get(self.url + "/health")
        except httpx2.TransportError:
            return False
        return response.status_code == 200 and response.json().get("status") == "ok"

    async def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            await anyio.to_thread.run_sync(lambda: process.wait(timeout=15))
        except subprocess.TimeoutExpired:
            process.kill()
            await anyio.to_thread.run_sync(process.wait)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    @asynccontextmanager
    async def client(self) -> AsyncIterator[Client]:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=120.0)) as http,
            Client(streamable_http_client(self.url + "/mcp", http_client=http)) as client,
        ):
            yield client


def _console_script() -> list[str]:
    script = Path(sys.executable).with_name("mcp-paginate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mcp_paginate"]


def _toml(value: Any) -> str:
    """TOML for JSON-like data (inline tables), enough for a test config."""
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


@pytest.fixture
def config_file(tmp_path: Path, sample_api: SampleAPI) -> Path:
    sources = sample_sources(sample_api.url)
    lines = ["[server]", "allowed_hosts = []", "", "[sources]"]
    lines += [f"{name} = {_toml(sources[name])}" for name in ("body_token", "offset_total")]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def clean_redis(redis_url: str) -> str:  # noqa: F811
    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()
    return redis_url


@asynccontextmanager
async def replicas(count: int, store_url: str, config: Path, logs: Path) -> AsyncIterator[list[Replica]]:
    started = [Replica(store_url, config, logs / f"replica-{index}.log") for index in range(count)]
    try:
        try:
            async with anyio.create_task_group() as group:
                for replica in started:
                    group.start_soon(replica.start)
        except ExceptionGroup as group_error:
            raise group_error.exceptions[0] from None
        yield started
    finally:
        with anyio.CancelScope(shield=True):
            for replica in started:
                await replica.stop()


def _error_text(result: Any) -> str:
    assert result.is_error, result
    content = result.content[0]
    assert isinstance(content, TextContent)
    return content.text


def _ids(records: list[dict[str, Any]]) -> list[int]:
    return [int(record["id"]) for record in records]


async def test_cursor_minted_on_one_replica_continues_and_rereads_on_another(
    clean_redis: str, config_file: Path, tmp_path: Path
) -> None:
    async with replicas(2, clean_redis, config_file, tmp_path) as (first, second):
        with anyio.fail_after(90):
            async with first.client() as client:
                page_one = structured(await client.call_tool("list_page", {"source": "body_token"}))
                cut_short = structured(
                    await client.call_tool("fetch_all", {"source": "offset_total", "max_records": 50})
                )
            assert _ids(page_one["records"]) == ALL_IDS[:30]
            assert cut_short["stop_reason"] == "max_records" and cut_short["count"] == 50
            assert _ids(cut_short["records"]) == ALL_IDS[:50]

            await first.stop()  # replica A is gone; nothing it held in memory is needed
            assert "Traceback" not in first.output()

            async with second.client() as client:
                page_two = structured(
                    await client.call_tool("list_page", {"cursor": page_one["next_cursor"]})
                )
                again = structured(await client.call_tool("list_page", {"cursor": page_one["cursor"]}))
                rest = structured(await client.call_tool("fetch_all", {"cursor": cut_short["next_cursor"]}))
                stored_on_first = await client.read_resource(cut_short["results_uri"])
            assert page_two["page"]["number"] == 2
            assert _ids(page_two["records"]) == ALL_IDS[30:60]
            assert again["records"] == page_one["records"]
            assert again["next_cursor"] == page_one["next_cursor"]
            assert rest["stop_reason"] == "exhausted" and rest["complete"]
            assert _ids(cut_short["records"]) + _ids(rest["records"]) == ALL_IDS
            content = stored_on_first.contents[0]
            assert isinstance(content, TextResourceContents)
            # The resumed drain appended to the results the first replica stored.
            assert rest["results_uri"] == cut_short["results_uri"]
            assert _ids(json.loads(content.text)["records"]) == ALL_IDS


class TcpProxy:
    """Forward a loopback port to Redis; `cut` makes it refuse connections (an outage), `restore` ends it."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._scope: anyio.CancelScope | None = None

    async def restore(self, group: TaskGroup) -> None:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=self.port)
        scope = self._scope = anyio.CancelScope()

        async def serve() -> None:
            with scope:
                async with listener:
                    await listener.serve(self._forward)

        group.start_soon(serve)

    def cut(self) -> None:
        if self._scope is not None:
            self._scope.cancel()

    async def _forward(self, client: SocketStream) -> None:
        async with (
            client,
            await anyio.connect_tcp("127.0.0.1", self.target_port) as upstream,
            anyio.create_task_group() as pipes,
        ):

            async def pipe(source: SocketStream, sink: SocketStream) -> None:
                with suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                    async for data in source:
                        await sink.send(data)
                pipes.cancel_scope.cancel()

            pipes.start_soon(pipe, client, upstream)
            pipes.start_soon(pipe, upstream, client)


async def test_redis_outage_is_a_tool_error_and_nothing_is_lost(
    clean_redis: str, config_file: Path, tmp_path: Path
) -> None:
    redis_port = int(clean_redis.rsplit(":", 1)[1].split("/")[0])
    proxy = TcpProxy(redis_port)
    store_url = f"redis://127.0.0.1:{proxy.port}/0"
    async with anyio.create_task_group() as group:
        await proxy.restore(group)
        async with replicas(1, store_url, config_file, tmp_path) as (replica,):
            with anyio.fail_after(90):
                async with replica.client() as client:
                    page_one = structured(await client.call_tool("list_page", {"source": "body_token"}))

                    proxy.cut()
                    continued = await client.call_tool("list_page", {"cursor": page_one["next_cursor"]})
                    started = await client.call_tool("fetch_all", {"source": "offset_total"})
                    for failed in (continued, started):
                        assert _error_text(failed).endswith(
                            f": session store unreachable at {store_url}: connection refused; "
                            "check the --store URL / that Redis is running"
                        )
                    assert await replica.healthy()
                    assert replica.process is not None and replica.process.poll() is None

                    await proxy.restore(group)
                    page_two = structured(
                        await client.call_tool("list_page", {"cursor": page_one["next_cursor"]})
                    )
                    again = structured(await client.call_tool("list_page", {"cursor": page_one["cursor"]}))
            assert _ids(page_two["records"]) == ALL_IDS[30:60]
            assert again["records"] == page_one["records"]
            assert "Traceback" not in replica.output()
        proxy.cut()


async def test_server_started_while_redis_is_down_serves_tool_errors(
    config_file: Path, tmp_path: Path
) -> None:
    store_url = f"redis://127.0.0.1:{free_port()}/0"
    async with replicas(1, store_url, config_file, tmp_path) as (replica,):
        with anyio.fail_after(60):
            async with replica.client() as client:
                result = await client.call_tool("list_page", {"source": "body_token"})
                sources = structured(await client.call_tool("list_sources", {}))
        assert f"session store unreachable at {store_url}: connection refused" in _error_text(result)
        assert {source["name"] for source in sources["sources"]} == {"body_token", "offset_total"}
        assert await replica.healthy()


async def test_a_drain_whose_replica_dies_resumes_on_another_from_the_last_stored_page(
    clean_redis: str, tmp_path: Path
) -> None:
    with SampleAPI(latency=0.2) as slow:
        # body_token: 8 pages of 30 in a chain, about 1.6 s; each call answers within 0.8 s.
        sources = sample_sources(slow.url)
        lines = [
            "[server]",
            "tool_deadline_seconds = 0.8",
            "drain_lease_seconds = 1.5",
            "",
            "[sources]",
            f"body_token = {_toml(sources['body_token'])}",
        ]
        config = tmp_path / "slow.toml"
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        async with replicas(2, clean_redis, config, tmp_path) as (first, second):
            with anyio.fail_after(90):
                async with first.client() as client:
                    started = structured(await client.call_tool("fetch_all", {"source": "body_token"}))
                assert started["stop_reason"] == "deadline" and started["next_cursor"]
                async with second.client() as client:
                    # Replica A drains on in the background: let it store a page more, then kill it.
                    while True:
                        seen = structured(
                            await client.call_tool("read_results", {"results_uri": started["results_uri"]})
                        )
                        if seen["count"] > started["count"]:
                            break
                        await anyio.sleep(0.05)  # watching another process's progress
                    assert first.process is not None
                    first.process.kill()  # no clean shutdown: its lease just stops being renewed
                    await anyio.to_thread.run_sync(first.process.wait)
                    results = [started]
                    while not results[-1]["complete"]:
                        cursor = results[-1]["next_cursor"]
                        results.append(structured(await client.call_tool("fetch_all", {"cursor": cursor})))
                        assert len(results) < 30
                    whole = structured(
                        await client.call_tool(
                            "read_results", {"results_uri": started["results_uri"], "limit": 1000}
                        )
                    )
    assert {result["results_uri"] for result in results} == {started["results_uri"]}
    assert [record_id for result in results for record_id in _ids(result["records"])] == ALL_IDS
    assert _ids(whole["records"]) == ALL_IDS and whole["count"] == len(ALL_IDS)
    assert "Traceback" not in second.output()
