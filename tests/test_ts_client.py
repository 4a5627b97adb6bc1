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
    assert set(sizes) == {"list_sources", "list_page", "fetch_all", "read_results"}

    listed = output["list_page"]
    assert [record["id"] for record in listed["records"]] == ALL_IDS
    assert listed["pages"] == 5  # 237 records, 50 a page

    drained = output["fetch_all"]
    assert drained["complete"] is True and drained["stop_reason"] == "exhausted"
    assert drained["count"] == len(ALL_IDS) == drained["returned"]
    assert [record["id"] for record in drained["records"]] == ALL_IDS
    assert all(set(record) == {"id", "name"} for record in drained["records"])


def slow_config(tmp_path: Path, url: str, *, deadline: float | None) -> Path:
    """A source of the slow sample API, 10 records a page, and the tool deadline (None: default)."""
    setting = "" if deadline is None else f"tool_deadline_seconds = {deadline}\n"
    path = tmp_path / "slow.toml"
    path.write_text(
        f"""\
[server]
{setting}
[sources.slow]
url = "{url}/offset"
records = "items"
concurrency = 1

[sources.slow.pagination]
mode = "offset"
total = "total"
page_size = 10
""",
        encoding="utf-8",
    )
    return path


def check_split_drain(output: dict[str, Any], deadline: float) -> None:
    """Every record exactly once through fetch_all calls that each answered by the deadline, one
    results_uri for them all, and read back whole with read_results."""
    calls = output["calls"]
    assert output["complete"] is True and output["count"] == len(ALL_IDS)
    assert len(calls) >= 2, calls  # the drain outlasted one call
    assert all(call["seconds"] < deadline + 5 for call in calls), calls
    assert all(call["stop_reason"] == "deadline" for call in calls[:-1]), calls
    assert len({call["results_uri"] for call in calls}) == 1
    assert [call["count"] for call in calls] == sorted(call["count"] for call in calls)
    assert [record_id for call in calls for record_id in call["ids"]] == ALL_IDS  # no gap, no repeat
    assert output["read"] == ALL_IDS


def test_typescript_client_drains_a_slow_source_through_repeated_calls_and_reads_it_back(
    tmp_path: Path,
) -> None:
    node = require_ts_client()
    # 24 pages at 0.25 s: about 6 s, against a tool deadline of 1.5 s.
    with SampleAPI(latency=0.25) as api:
        config = slow_config(tmp_path, api.url, deadline=1.5)
        data = {"arguments": {"source": "slow"}, "limit": 50}
        output = run_scenario(node, tmp_path, config, "drain", data)
    check_split_drain(output, 1.5)
    assert output["reads"] == 5  # 237 records, 50 a read


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("MCP_PAGINATE_SLOW_TESTS"), reason="set MCP_PAGINATE_SLOW_TESTS=1 (~75 s)"
)
def test_typescript_client_drains_a_source_slower_than_the_default_timeout(tmp_path: Path) -> None:
    node = require_ts_client()
    # 24 pages at 3 s: about 72 s, more than the client's default 60 s request timeout; the
    # default tool deadline (45 s) splits it.
    with SampleAPI(latency=3.0) as api:
        config = slow_config(tmp_path, api.url, deadline=None)
        output = run_scenario(node, tmp_path, config, "drain", {"arguments": {"source": "slow"}})
    assert output["drained"] > 60
    check_split_drain(output, 45)
