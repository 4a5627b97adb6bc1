"""``mcp-paginate serve --transport http`` without a bearer token: refused beyond loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx2

from tests.redis_server import free_port

START_GUARD_SECONDS = 30


def serve(tmp_path: Path, host: str, port: int) -> subprocess.Popen[bytes]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("MCP_PAGINATE_", "ALLOY_"))}
    config = tmp_path / "none.toml"
    config.write_text("", encoding="utf-8")
    command = [sys.executable, "-m", "mcp_paginate", "serve", "--transport", "http", "--host", host,
               "--port", str(port), "--config", str(config), "--store", "memory://"]  # fmt: skip
    return subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment
    )


def test_serving_beyond_loopback_without_a_token_is_refused(tmp_path: Path) -> None:
    # Before, it served the tools, and the API keys behind them, to anyone who reached the port.
    process = serve(tmp_path, "0.0.0.0", free_port())
    try:
        _, err = process.communicate(timeout=START_GUARD_SECONDS)
    finally:
        process.kill()  # still serving: the refusal this test is about did not happen
        process.wait()
    assert process.returncode == 2
    message = err.decode()
    assert "needs a bearer token" in message and "MCP_PAGINATE_AUTH_TOKEN" in message
    assert "Traceback" not in message


def test_serving_on_loopback_without_a_token_warns(tmp_path: Path) -> None:
    port = free_port()
    process = serve(tmp_path, "127.0.0.1", port)
    try:
        deadline = time.monotonic() + START_GUARD_SECONDS
        while True:  # bounded by the deadline
            assert process.poll() is None, process.communicate()[1].decode()
            try:
                if httpx2.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not answer /health"
            time.sleep(0.05)  # polling a child process's readiness
    finally:
        process.terminate()
        _, err = process.communicate(timeout=START_GUARD_SECONDS)
    assert "warning: no bearer token set" in err.decode()
