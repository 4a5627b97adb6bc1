"""The server driven by the official TypeScript MCP SDK client (tests/ts_client), as Claude Desktop,
VS Code and most hosts drive it: over stdio, default request timeout, tools only, results
validated by the client against their output schemas.

Needs ``node`` and ``npm ci`` run in tests/ts_client (``.ci/run`` does it). Without them the test
is skipped locally, and fails under ``$CI``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mcp_paginate.sample import SampleAPI
from tests.support import ALL_IDS
from tests.test_stdio import child_env, console_script, write_config
from tests.test_tool_schema import check_tool_definitions

CLIENT_DIR = Path(__file__).parent / "ts_client"
SDK_VERSION_PREFIX = "1.32."


def require_ts_client() -> str:
    """The path of ``node`` with the SDK installed; skip if missing (fail instead under ``$CI``)."""
    node = shutil.which("node")
    missing = None
    if node is None:
        missing = "node is not installed"
    elif not (CLIENT_DIR / "node_modules" / "@modelcontextprotocol" / "sdk").is_dir():
        missing = "the TypeScript SDK is not installed: run `npm ci` in tests/ts_client"
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}; the TypeScript client test must not be skipped in CI", pytrace=False)
        pytest.skip(missing)
    assert node is not None
    return node


def run_scenario(node: str, tmp_path: Path, config: Path, scenario: str, data: dict[str, Any]) -> Any:
    """Run one scenario of client.mjs against ``mcp-paginate serve``; its JSON output."""
    env = child_env(
        tmp_path,
        MCP_PAGINATE_COMMAND=console_script(),
        MCP_PAGINATE_ARGS=json.dumps(["serve", "--config", str(config), "--store", "memory://"]),
    )
    done = subprocess.run(
        [node, str(CLIENT_DIR / "client.mjs"), scenario, json.dumps(data)],
        capture_output=True,
        text=True,
        env=env,
        cwd=CLIENT_DIR,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_installed_sdk_is_the_pinned_one() -> None:
    require_ts_client()
    installed = json.loads(
        (CLIENT_DIR / "node_modules" / "@modelcontextprotocol" / "sdk" / "package.json").read_text("utf-8")
    )
    assert installed["version"].startswith(SDK_VERSION_PREFIX), installed["version"]


def test_typescript_client_lists_pages_and_drains_every_record(tmp_path: Path, sample_api: SampleAPI) -> None:
    node = require_ts_client()
    config = write_config(tmp_path, sample_api.url)
    data = {
        # Hosts send "" for optional strings they leave empty: it means absent.
        "list_page": {"arguments": {"source": "link_header", "cursor": "", "page_size": 50}},
        "fetch_all": {"arguments": {"source": "offset_total", "fields": ["id", "name"]}},
    }
    output = run_scenario(node, tmp_path, config, "basic", data)

    sizes = check_tool_definitions(output["tools"])
    assert set(sizes) == {"list_sources", "list_page", "fetch_all"}

    listed = output["list_page"]
    assert [record["id"] for record in listed["records"]] == ALL_IDS
    assert listed["pages"] == 5  # 237 records, 50 a page

    drained = output["fetch_all"]
    assert drained["complete"] is True and drained["stop_reason"] == "exhausted"
    assert drained["count"] == len(ALL_IDS) == drained["returned"]
    assert [record["id"] for record in drained["records"]] == ALL_IDS
    assert all(set(record) == {"id", "name"} for record in drained["records"])
