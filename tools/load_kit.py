"""What tools/load.py and tools/soak.py share: the processes, MCP over HTTP by hand, the checks.

The deployment: the sample API (injected latency), the ``mcp-paginate serve --transport http``
replicas on one store, and tools/bare_server.py. The client: bare JSON-RPC POSTs of the
2026-07-28 stateless protocol (what ``mcp.Client`` sends over streamable HTTP: the
``MCP-Protocol-Version``, ``Mcp-Method`` and ``Mcp-Name`` headers, the protocol fields in
``params._meta``), with one pooled httpx2 client, so the client costs little and is not what is
measured. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.redis_server import RedisServer, free_port  # noqa: E402 - the repository root is on the path now

__all__ = [
    "PAGE_SIZE",
    "ROOT",
    "SAMPLE_API_MODULE",
    "TOKEN",
    "CallFailed",
    "Deployment",
    "Mcp",
    "RedisServer",
    "Service",
    "Tally",
    "client_for",
    "free_port",
    "page_ours",
    "start_deployment",
    "write_config",
]

SAMPLE_API_MODULE = "mcp_paginate.sample"
PROTOCOL_VERSION = "2026-07-28"
TOKEN = "load-token-not-a-secret"
PAGE_SIZE = 10
START_TIMEOUT_SECONDS = 60.0
_META = {
    "io.modelcontextprotocol/protocolVersion": PROTOCOL_VERSION,
    "io.modelcontextprotocol/clientInfo": {"name": "mcp-paginate-load", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}
_NAME_PARAM = {"tools/call": "name", "resources/read": "uri"}
_T = TypeVar("_T")


# -- processes ---------------------------------------------------------------------------------


class Service:
    """A child process serving HTTP on a loopback port; ``start`` returns once ``health`` answers."""

    def __init__(self, name: str, command: list[str], port: int, logs: Path, env: dict[str, str]) -> None:
        self.name, self.command, self.port, self.env = name, command, port, env
        self.url = f"http://127.0.0.1:{port}"
        self.log = logs / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, health: str = "/health") -> None:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                self.command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=self.env
            )
        async with httpx2.AsyncClient(timeout=2.0) as http:
            with anyio.fail_after(START_TIMEOUT_SECONDS):
                while True:
                    if self.process.poll() is not None:
                        raise RuntimeError(f"{self.name} exited on start:\n{self.output()}")
                    try:
                        if (await http.get(self.url + health)).status_code == 200:
                            return
                    except httpx2.TransportError:
                        pass
                    await anyio.sleep(0.05)  # polling a child process's readiness

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def _environment(**extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MCP_PAGINATE_")}
    return {**environment, **extra}


def _console_script() -> list[str]:
    script = Path(sys.executable).with_name("mcp-paginate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mcp_paginate"]


def write_config(path: Path, api: str, *, max_sessions: int, max_results: int) -> None:
    path.write_text(
        f"""[server]
max_sessions = {max_sessions}
max_stored_results = {max_results}
backoff_base_seconds = 0.05

[sources.load]
url = "{api}/token"
concurrency = 64
[sources.load.pagination]
mode = "cursor"
next = {{ body = "meta.next_token" }}
cursor_param = {{ in = "query", name = "pagination_token" }}
size_param = {{ in = "query", name = "max_results" }}
page_size = {PAGE_SIZE}

[sources.drain]
url = "{api}/offset"
records = "items"
concurrency = 8
[sources.drain.pagination]
mode = "offset"
total = "total"
page_size = 50
""",
        encoding="utf-8",
    )


@dataclass
class Deployment:
    api: Service
    replicas: list[Service]
    bare: Service
    store_url: str


async def start_deployment(logs: Path, args: argparse.Namespace, store_url: str) -> Deployment:
    """The sample API, the replicas on ``store_url`` and the bare server, all answering."""
    api_port = free_port()
    api = Service(
        "sample-api",
        [sys.executable, "-m", SAMPLE_API_MODULE, "--port", str(api_port), "--records", str(args.records)]
        + ["--latency", str(args.latency)],
        api_port,
        logs,
        _environment(),
    )
    await api.start(health="/_stats")
    config = logs / "config.toml"
    write_config(config, api.url, max_sessions=args.max_sessions, max_results=args.max_results)
    replicas = []
    for index in range(args.replicas):
        port = free_port()
        command = [*_console_script(), "serve", "--transport", "http", "--port", str(port)]
        command += ["--store", store_url, "--config", str(config)]
        replicas.append(
            Service(f"replica-{index}", command, port, logs, _environment(MCP_PAGINATE_AUTH_TOKEN=TOKEN))
        )
    bare_port = free_port()
    bare_command = [sys.executable, str(ROOT / "tools" / "bare_server.py"), "--port", str(bare_port)]
    bare = Service("bare", [*bare_command, "--upstream", api.url], bare_port, logs, _environment())
    deployment = Deployment(api, replicas, bare, store_url)
    async with anyio.create_task_group() as group:
        for service in (*replicas, bare):
            group.start_soon(service.start)
    return deployment


# -- MCP over HTTP, by hand --------------------------------------------------------------------


class CallFailed(Exception):
    """A call that did not give a result: HTTP or JSON-RPC error, tool error, transport failure."""


class Mcp:
    """One MCP server's endpoint, spoken to with bare JSON-RPC POSTs (stateless protocol)."""

    def __init__(self, http: httpx2.AsyncClient, url: str, token: str | None = None) -> None:
        self.http, self.url = http, url + "/mcp"
        self.headers = {
            "Accept": "application/json, text/event-stream",
            "Content-Type": "application/json",
            "MCP-Protocol-Version": PROTOCOL_VERSION,
        }
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self._ids = 0

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON-RPC result of ``method``; raises `CallFailed` otherwise."""
        self._ids += 1
        sent: dict[str, Any] = {**(params or {}), "_meta": _META}
        body = {"jsonrpc": "2.0", "id": self._ids, "method": method, "params": sent}
        headers = {**self.headers, "Mcp-Method": method}
        if method in _NAME_PARAM:
            headers["Mcp-Name"] = str(sent[_NAME_PARAM[method]])
        try:
            response = await self.http.post(self.url, content=json.dumps(body), headers=headers)
        except httpx2.HTTPError as exc:
            raise CallFailed(f"{method}: {type(exc).__name__}: {exc}") from None
        message = _message(response)
        if "error" in message:
            raise CallFailed(f"{method}: HTTP {response.status_code}: {message['error']}")
        if response.status_code != 200 or not isinstance(message.get("result"), dict):
            raise CallFailed(f"{method}: HTTP {response.status_code}: {response.text[:300]}")
        result: dict[str, Any] = message["result"]
        return result

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """A tool's structured result; a tool error raises `CallFailed` with its text."""
        result = await self.request("tools/call", {"name": name, "arguments": arguments})
        if result.get("isError"):
            text = " ".join(part.get("text", "") for part in result.get("content", []))
            raise CallFailed(f"{name}: tool error: {text[:300]}")
        structured = result.get("structuredContent")
        if not isinstance(structured, dict):
            raise CallFailed(f"{name}: no structured content")
        return structured

    async def read_resource(self, uri: str) -> str:
        result = await self.request("resources/read", {"uri": uri})
        return str(result["contents"][0]["text"])


def _message(response: httpx2.Response) -> dict[str, Any]:
    """The JSON-RPC message of a response, whether sent as JSON or as server-sent events."""
    try:
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            for line in response.text.splitlines():
                if line.startswith("data:"):
                    event = json.loads(line[5:])
                    if "result" in event or "error" in event:
                        return dict(event)
            return {}
        return dict(response.json())
    except (ValueError, TypeError):
        return {}


# -- checking what assistants see ------------------------------------------------------------


@dataclass
class Tally:
    """What a level's assistants saw."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    wrong_pages: int = 0
    samples: list[str] = field(default_factory=list)

    def fail(self, text: str) -> None:
        self.errors += 1
        if len(self.samples) < 5:
            self.samples.append(text)

    def wrong(self, text: str) -> None:
        self.wrong_pages += 1
        if len(self.samples) < 5:
            self.samples.append(text)

    async def timed(self, call: Awaitable[_T]) -> _T:
        started = time.perf_counter()
        result = await call
        self.latencies.append(time.perf_counter() - started)
        return result

    def check_page(self, step: int, records: list[dict[str, Any]], where: str) -> bool:
        expected = list(range((step - 1) * PAGE_SIZE + 1, step * PAGE_SIZE + 1))
        if [record.get("id") for record in records] == expected:
            return True
        self.wrong(f"{where}: step {step} got ids {[r.get('id') for r in records][:12]}")
        return False


async def page_ours(endpoints: list[Mcp], index: int, steps: int, tally: Tally) -> None:
    """One assistant: ``steps`` pages of list_page, each step on the other replica."""
    try:
        await endpoints[index % len(endpoints)].request("server/discover")
        cursor: str | None = None
        for step in range(1, steps + 1):
            endpoint = endpoints[(index + step) % len(endpoints)]
            arguments: dict[str, Any] = {"cursor": cursor} if cursor else {"source": "load"}
            result = await tally.timed(endpoint.call_tool("list_page", arguments))
            if not tally.check_page(step, result["records"], "ours") or not result.get("next_cursor"):
                return
            cursor = result["next_cursor"]
    except CallFailed as exc:
        tally.fail(str(exc))


def client_for(level: int) -> httpx2.AsyncClient:
    """The load's HTTP client: a connection per concurrent call, idle ones dropped after 2 s.

    uvicorn closes a connection idle for 5 s, httpx2's default expiry; at equal timeouts a call
    may go out on a connection the server is closing that instant (a ``ReadError``, on either
    server alike), so the client lets go first.
    """
    limits = httpx2.Limits(
        max_connections=None, max_keepalive_connections=max(level, 10), keepalive_expiry=2.0
    )
    return httpx2.AsyncClient(limits=limits, timeout=httpx2.Timeout(120.0))
