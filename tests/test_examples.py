"""examples/config.toml, which the README's terminal examples use as they are: it loads with the
product's loader, has a source for every paging style the sample API serves, and each source drains
all of the sample API's records, through the MCP client and through ``mcp-paginate fetch``.

The file names the sample API's address in the README (``mcp-paginate sample-api --port 8080``);
here it is pointed at the sample API the tests start on a free port.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_paginate.config import AppConfig, load_config
from mcp_paginate.sample import SampleAPI, create_app
from mcp_paginate.sample.alloy import METADATA_PATHS
from mcp_paginate.server import create_server
from tests.support import ALL_IDS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "config.toml"
ADDRESS = "127.0.0.1:8080"


def example_for(api: SampleAPI, directory: Path) -> Path:
    """examples/config.toml with the sample API's address replaced by the test's."""
    text = EXAMPLE.read_text(encoding="utf-8")
    assert text.count(ADDRESS) > 1
    path = directory / "config.toml"
    path.write_text(text.replace(ADDRESS, f"127.0.0.1:{api.port}"), encoding="utf-8")
    return path


def test_example_names_only_the_sample_api_address_the_readme_starts() -> None:
    config = load_config(EXAMPLE, environ={})
    for name, source in config.sources.items():
        assert source.url.startswith(f"http://{ADDRESS}/"), name
        assert source.description, name
    assert config.server.allowed_hosts == [ADDRESS]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "mcp-paginate sample-api --records 5000 --latency 20 --port 8080" in readme
    assert "--config examples/config.toml" in readme


def test_example_has_a_source_for_every_paging_style_the_sample_api_serves() -> None:
    config = load_config(EXAMPLE, environ={})
    served = {route.path for route in create_app().routes if not route.path.startswith("/_")}  # type: ignore[attr-defined]
    served -= set(METADATA_PATHS)  # Alloy's metadata (tests/test_alloy.py), not a paging style
    used = {re.sub(rf"^http://{re.escape(ADDRESS)}", "", source.url) for source in config.sources.values()}
    assert served <= used, served - used
    modes = {source.pagination.mode for source in config.sources.values()}
    assert {"offset", "page", "cursor", "auto"} <= modes


async def _all_records(config: AppConfig) -> dict[str, Any]:
    drained: dict[str, Any] = {}
    with anyio.fail_after(60):
        async with Client(create_server(config, "memory://", environ={})) as client:
            for name in config.sources:
                result = await client.call_tool("fetch_all", {"source": name})
                assert not result.is_error, (name, result.content)
                drained[name] = result.structured_content
    return drained


@pytest.mark.anyio
async def test_every_example_source_drains_every_record_of_the_sample_api(
    sample_api: SampleAPI, tmp_path: Path
) -> None:
    config = load_config(example_for(sample_api, tmp_path), environ={})
    drained = await _all_records(config)
    assert set(drained) == set(config.sources)
    for name, result in drained.items():
        assert result["complete"] and result["stop_reason"] == "exhausted", (name, result["notes"])
        assert [record["id"] for record in result["records"]] == ALL_IDS, name


def test_the_readme_fetch_command_writes_the_records_as_json_lines(
    sample_api: SampleAPI, tmp_path: Path
) -> None:
    config = example_for(sample_api, tmp_path)
    environment = {**os.environ, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")}
    environment.pop("MCP_PAGINATE_STORE", None)
    command = [sys.executable, "-m", "mcp_paginate", "fetch", "offset", "--config", str(config)]
    done = subprocess.run(
        [*command, "--out", "offset.jsonl"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = (tmp_path / "offset.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ALL_IDS
    assert "237 records" in done.stderr


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["capped_pages", "auto"])
async def test_the_examples_that_teach_detection_say_what_they_detected(
    name: str, sample_api: SampleAPI, tmp_path: Path
) -> None:
    config = load_config(example_for(sample_api, tmp_path), environ={})
    result = (await _all_records(config.model_copy(update={"sources": {name: config.sources[name]}})))[name]
    if name == "auto":
        assert result["detected"]["mode"] == "cursor"
    else:
        assert any("caps its page size" in note or "got 25" in note for note in result["notes"])
