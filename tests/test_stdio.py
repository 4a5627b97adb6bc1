"""The installed server over stdio, as an MCP host runs it: a real `mcp.Client` talking to
``python -m mcp_paginate serve`` (and the ``mcp-paginate`` console script) in a subprocess."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from mcp_paginate.sample import SampleAPI
from tests.conftest import structured
from tests.support import ALL_IDS, resource_text, text_of

SECRET = "stdio-test-secret-4e2a"


def write_config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""\
[server]
max_inline_chars = 60000

[sources.offset_total]
description = "Sample records, offset and total"
url = "{url}/offset"
records = "items"
max_page_size = 100
headers = {{ "X-Api-Key" = "${{SAMPLE_SECRET}}" }}

[sources.offset_total.pagination]
mode = "offset"
total = "total"
page_size = 40

[sources.link_header]
url = "{url}/link"

[sources.link_header.pagination]
mode = "cursor"
next = {{ link = "next" }}
cursor_param = {{ in = "url" }}
size_param = {{ in = "query", name = "per_page" }}
page_size = 25
""",
        encoding="utf-8",
    )
    return path


def child_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A controlled environment: PATH, a private HOME, no ALLOY_* unless asked for."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "SAMPLE_SECRET": SECRET,
        # Empty values override anything the SDK's inherited defaults could bring in.
        "ALLOY_API_KEY": "",
        "ALLOY_BASE_URL": "",
        "MCP_PAGINATE_CONFIG": "",
        "MCP_PAGINATE_STORE": "",
    }
    env.update(extra)
    return env


def console_script() -> str:
    beside = Path(sys.executable).parent / "mcp-paginate"
    found = str(beside) if beside.exists() else shutil.which("mcp-paginate")
    assert found, "the mcp-paginate console script is not installed"
    return found


@asynccontextmanager
async def stdio_server(
    tmp_path: Path,
    config: Path,
    store: str,
    *,
    command: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> AsyncIterator[Client]:
    command = command or [sys.executable, "-m", "mcp_paginate"]
    parameters = StdioServerParameters(
        command=command[0],
        args=[*command[1:], "serve", "--config", str(config), "--store", store],
        env=child_env(tmp_path, **(env or {})),
        cwd=str(tmp_path),
    )
    async with Client(parameters) as client:
        yield client


@pytest.mark.anyio
async def test_stdio_server_pages_with_list_page_then_next_cursor(
    tmp_path: Path, sample_api: SampleAPI
) -> None:
    config = write_config(tmp_path, sample_api.url)
    with anyio.fail_after(60):
        async with stdio_server(tmp_path, config, f"sqlite:///{tmp_path}/s.db") as client:
            listed = await client.list_tools()
            assert {t.name for t in listed.tools} == {
                "list_sources",
                "list_page",
                "fetch_all",
                "read_results",
            }
            sources = structured(await client.call_tool("list_sources", {}))
            assert {s["name"] for s in sources["sources"]} == {"offset_total", "link_header"}
            first = structured(await client.call_tool("list_page", {"source": "link_header"}))
            records = list(first["records"])
            cursor = first["next_cursor"]
            while cursor is not None:
                page = structured(await client.call_tool("list_page", {"cursor": cursor}))
                records.extend(page["records"])
                cursor = page["next_cursor"]
            assert [r["id"] for r in records] == ALL_IDS


@pytest.mark.anyio
async def test_stdio_server_reads_the_env_secret_and_never_shows_it(tmp_path: Path) -> None:
    with SampleAPI(records=30, api_key=None) as api:
        config = write_config(tmp_path, api.url)
        with anyio.fail_after(60):
            async with stdio_server(tmp_path, config, "memory://") as client:
                result = await client.call_tool("fetch_all", {"source": "offset_total"})
                data = structured(result)
                assert data["count"] == 30
                text = json.dumps(data) + text_of(result)
                assert SECRET not in text
                error = await client.call_tool(
                    "list_page", {"source": "offset_total", "params": {"k": SECRET}}
                )
                assert error.is_error
                assert SECRET not in text_of(error)


@pytest.mark.anyio
async def test_console_script_serves_over_stdio(tmp_path: Path, sample_api: SampleAPI) -> None:
    config = write_config(tmp_path, sample_api.url)
    with anyio.fail_after(60):
        async with stdio_server(tmp_path, config, "memory://", command=[console_script()]) as client:
            data = structured(
                await client.call_tool("fetch_all", {"source": "offset_total", "fields": ["id"]})
            )
            assert data["records"] == [{"id": i} for i in ALL_IDS]
            stored = json.loads(resource_text(await client.read_resource(data["results_uri"] + "/0")))
            assert stored["records"] == [{"id": i} for i in range(1, 41)]


@pytest.mark.anyio
async def test_builtin_alloy_source_over_stdio_only_when_the_key_is_given(
    tmp_path: Path, sample_api: SampleAPI
) -> None:
    config = write_config(tmp_path, sample_api.url)
    with anyio.fail_after(60):
        async with stdio_server(tmp_path, config, "memory://") as client:
            names = {s["name"] for s in structured(await client.call_tool("list_sources", {}))["sources"]}
            assert "alloy" not in names
        alloy_env = {
            "ALLOY_API_KEY": "alloy-stdio-key-77",
            "ALLOY_BASE_URL": sample_api.url,
            "ALLOY_CREDENTIAL_ID": "cred-1",
            "ALLOY_USER_ID": "user-1",
        }
        async with stdio_server(tmp_path, config, "memory://", env=alloy_env) as client:
            params = {"connector": "hubspot", "action": "listContacts"}
            data = structured(
                await client.call_tool("fetch_all", {"source": "alloy", "params": params, "page_size": 100})
            )
            assert [r["id"] for r in data["records"]] == ALL_IDS
            assert any("50" in note for note in data["notes"])
            assert "alloy-stdio-key-77" not in json.dumps(data)


@pytest.mark.anyio
async def test_sqlite_cursor_survives_a_server_restart(tmp_path: Path, sample_api: SampleAPI) -> None:
    config = write_config(tmp_path, sample_api.url)
    store = f"sqlite:///{tmp_path}/state/s.db"
    with anyio.fail_after(90):
        async with stdio_server(tmp_path, config, store) as client:
            first = structured(await client.call_tool("list_page", {"source": "offset_total"}))
            second = structured(await client.call_tool("list_page", {"cursor": first["next_cursor"]}))
            drained = structured(
                await client.call_tool("fetch_all", {"source": "link_header", "max_records": 60})
            )
        # The first process has exited; a second one opens the same store.
        async with stdio_server(tmp_path, config, store) as client:
            third = structured(await client.call_tool("list_page", {"cursor": second["next_cursor"]}))
            assert [r["id"] for r in third["records"]] == list(range(81, 121))
            assert third["page"]["number"] == 3
            again_first = structured(await client.call_tool("list_page", {"cursor": first["cursor"]}))
            assert again_first["records"] == first["records"]
            assert again_first["next_cursor"] == first["next_cursor"]
            again_second = structured(await client.call_tool("list_page", {"cursor": first["next_cursor"]}))
            assert again_second["records"] == second["records"]
            # A fetch_all stopped by max_records resumes in the new process, and its stored results remain,
            rest = structured(await client.call_tool("fetch_all", {"cursor": drained["next_cursor"]}))
            assert [r["id"] for r in drained["records"] + rest["records"]] == ALL_IDS
            # ... appending to the same stored results, which now hold every record once.
            assert rest["results_uri"] == drained["results_uri"]
            stored = json.loads(resource_text(await client.read_resource(drained["results_uri"])))
            assert [r["id"] for r in stored["records"]] == ALL_IDS


@pytest.mark.anyio
async def test_memory_store_cursor_does_not_survive_a_restart(tmp_path: Path, sample_api: SampleAPI) -> None:
    config = write_config(tmp_path, sample_api.url)
    with anyio.fail_after(60):
        async with stdio_server(tmp_path, config, "memory://") as client:
            first = structured(await client.call_tool("list_page", {"source": "offset_total"}))
        async with stdio_server(tmp_path, config, "memory://") as client:
            result = await client.call_tool("list_page", {"cursor": first["next_cursor"]})
            assert result.is_error
            text = text_of(result)
            assert "expired or is unknown" in text and "source=" in text


def test_python_dash_m_help_works(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mcp_paginate", "--help"],
        capture_output=True,
        text=True,
        env=child_env(tmp_path),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for command in ("serve", "demo", "fetch", "sources"):
        assert command in done.stdout
    serve = subprocess.run(
        [sys.executable, "-m", "mcp_paginate", "serve", "--help"],
        capture_output=True,
        text=True,
        env=child_env(tmp_path),
        timeout=60,
        check=False,
    )
    assert serve.returncode == 0
    for option in ("--config", "--store", "--transport"):
        assert option in serve.stdout


def test_serve_with_a_bad_config_exits_with_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[sources.x]\nurl = "https://x.test/{missing}"\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "mcp_paginate", "serve", "--config", str(config), "--store", "memory://"],
        capture_output=True,
        text=True,
        env=child_env(tmp_path),
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "[sources.x]" in done.stderr and "missing" in done.stderr
    assert "Traceback" not in done.stderr


# -- the transport itself (mcp_paginate.stdio) ---------------------------------------------------

NOISY_SERVER = """\
import os, sys
from mcp.server.mcpserver import MCPServer
from mcp_paginate.stdio import _served_natively, run_stdio

server = MCPServer("noisy")

@server.tool()
async def echo(text: str) -> str:
    print("stray print from a tool")
    os.write(1, b"stray write to fd 1\\n")
    return text

print("native" if _served_natively(server) else "sdk", file=sys.stderr, flush=True)
run_stdio(server)
"""


@pytest.mark.anyio
async def test_native_stdio_keeps_stray_output_off_the_wire_and_carries_large_messages(
    tmp_path: Path,
) -> None:
    script = tmp_path / "noisy.py"
    script.write_text(NOISY_SERVER, encoding="utf-8")
    parameters = StdioServerParameters(command=sys.executable, args=[str(script)], env=child_env(tmp_path))
    large = "x" * 300_000 + "é"  # several pipe buffers in each direction, and not only ASCII
    with anyio.fail_after(60):
        async with Client(parameters) as client:
            for text in ("small", large, "after"):
                result = await client.call_tool("echo", {"text": text})
                assert not result.is_error and text_of(result) == text

            # Answers written by concurrent handlers, each larger than a pipe buffer, never interleave.
            texts = [str(n) * 100_000 for n in range(8)]
            answers: dict[str, str] = {}

            async def echo(text: str) -> None:
                result = await client.call_tool("echo", {"text": text})
                answers[text] = text_of(result)

            async with anyio.create_task_group() as group:
                for text in texts:
                    group.start_soon(echo, text)
            assert answers == {text: text for text in texts}


def test_run_stdio_serves_natively_on_pipes_and_the_sdk_way_otherwise(tmp_path: Path) -> None:
    script = tmp_path / "noisy.py"
    script.write_text(NOISY_SERVER, encoding="utf-8")
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "hi"}},
    }
    # A line that is not JSON is skipped, and the server reads on, on either transport.
    wire = "".join(
        (message if isinstance(message, str) else json.dumps(message)) + "\n"
        for message in (
            initialize,
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            "not json",
            call,
        )
    )

    # Pipes, as a host starts a server: served by asyncio. stdin stays open until both replies are
    # in (at end of input the SDK cancels what is still running, whichever transport reads it).
    with subprocess.Popen(
        [sys.executable, str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(tmp_path),
    ) as server:
        assert server.stdin is not None and server.stdout is not None and server.stderr is not None
        killer = threading.Timer(60, server.kill)  # a hung server fails the test instead of hanging it
        killer.start()
        try:
            server.stdin.write(wire.encode())
            server.stdin.flush()
            replies = [json.loads(server.stdout.readline()) for _ in range(2)]
            server.stdin.close()
            assert server.wait(timeout=60) == 0
            stderr = server.stderr.read().decode()
            rest = server.stdout.read()
        finally:
            killer.cancel()
            server.kill()
    assert [reply["id"] for reply in replies] == [1, 2]
    assert replies[1]["result"]["content"][0]["text"] == "hi"
    assert stderr.splitlines()[0] == "native"
    # Stray output went to stderr, never the wire (a print is flushed there on the way out).
    assert "stray print from a tool" in stderr and "stray write to fd 1" in stderr
    assert rest == b""

    # A file on stdin (not how hosts run servers): the SDK's own transport serves it.
    requests = tmp_path / "requests.jsonl"
    requests.write_text(wire, encoding="utf-8")
    with requests.open("rb") as file:
        done = subprocess.run(
            [sys.executable, str(script)],
            stdin=file,
            capture_output=True,
            env=child_env(tmp_path),
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr.decode().splitlines()[0] == "sdk"
    # (The SDK's transport writes what a stray print left in sys.stdout onto the wire at exit.)
    sdk_replies = [json.loads(line) for line in done.stdout.decode().splitlines() if line.startswith("{")]
    assert [reply["id"] for reply in sdk_replies] == [1, 2]


def test_the_stdio_module_imports_where_there_is_no_fcntl() -> None:
    # Windows has no fcntl: importing it unguarded made `mcp-paginate serve` fail there at once,
    # instead of falling back to the SDK's transport. Simulated: fcntl blocked, platform win32.
    script = (
        "import sys, anyio, mcp.server.mcpserver, mcp.shared.message\n"  # what needs the real platform
        "sys.modules['fcntl'] = None\n"
        "sys.platform = 'win32'\n"
        "from mcp_paginate import stdio\n"
        "assert not stdio._served_natively(None)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


LOG_LINE = re.compile(
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: \S.*"
)


def test_serve_logs_one_plain_line_per_event_and_answers_bad_arguments_in_one_line(
    tmp_path: Path, sample_api: SampleAPI
) -> None:
    config = write_config(tmp_path, sample_api.url)
    calls = [
        {"source": "nope"},
        {"source": "offset_total", "page_size": "many"},
        {"source": "offset_total", "pagination": {"mode": "cursor", "start_page": 2}},
        {"source": "offset_total", "cursor": "", "fields": "", "page_size": 5},  # "" is absent
    ]
    wire = [
        {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
    ] + [
        {
            "jsonrpc": "2.0",
            "id": n,
            "method": "tools/call",
            "params": {"name": "list_page", "arguments": arguments},
        }
        for n, arguments in enumerate(calls, start=1)
    ]
    with subprocess.Popen(
        [console_script(), "serve", "--config", str(config), "--store", "memory://"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(tmp_path),
    ) as server:
        assert server.stdin is not None and server.stdout is not None and server.stderr is not None
        killer = threading.Timer(60, server.kill)  # a hung server fails the test instead of hanging it
        killer.start()
        try:
            server.stdin.write("".join(json.dumps(message) + "\n" for message in wire).encode())
            server.stdin.flush()
            replies = {
                reply["id"]: reply for reply in (json.loads(server.stdout.readline()) for _ in wire[1:])
            }
            server.stdin.close()
            assert server.wait(timeout=60) == 0
            stderr = server.stderr.read().decode()
        finally:
            killer.cancel()
            server.kill()
    errors = [replies[n]["result"] for n in (1, 2, 3)]
    assert all(result["isError"] for result in errors)
    texts = [result["content"][0]["text"] for result in errors]
    assert "unknown source 'nope'" in texts[0]
    assert texts[1].endswith("page_size must be an integer, not a string")
    assert "pagination.start_page is not a field of mode 'cursor'" in texts[2]
    for text in texts:
        assert "\n" not in text and "pydantic" not in text and "validation error" not in text
    page = replies[4]["result"]
    assert not page["isError"] and [r["id"] for r in page["structuredContent"]["records"]] == ALL_IDS[:5]
    lines = stderr.splitlines()
    assert lines, "the server logged nothing"
    for line in lines:
        assert LOG_LINE.fullmatch(line), line
    assert any("Tool 'list_page' failed" in line and "nope" in line for line in lines), stderr
