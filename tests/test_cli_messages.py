"""The command line speaks in flags and commands (issue 18, item 5): errors name ``-p``,
``--cursor``, ``--fields`` and ``mcp-paginate sources`` where the tools name arguments; source
names get a "did you mean"; ``sources`` and ``fetch alloy`` say how to enable the built-in Alloy
source; the fetch bar ends on ✓ or ✗; piped output is never wrapped. Driven as a subprocess,
against the sample API."""

from __future__ import annotations

import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from mcp import Client

from mcp_paginate.config import AppConfig
from mcp_paginate.sample import SampleAPI
from mcp_paginate.server import create_server
from tests.support import ALL_IDS
from tests.test_fetch_cli import SCRIPT, TIMEOUT, environment, ids_in

SECRET = "alloy-key-never-printed-7c2e"


def write_config(directory: Path, url: str) -> Path:
    path = directory / "config.toml"
    path.write_text(
        f"""
[sources.offset]
url = "{url}/offset"
records = "items"
pagination = {{ mode = "offset", total = "total", page_size = 40 }}

[sources.by_group]
url = "{url}/offset"
records = "items"
query = {{ group = "{{group}}" }}
params = {{ group = {{ description = "a group name, e.g. green", required = true }} }}
pagination = {{ mode = "offset", total = "total", page_size = 40 }}

[sources.link]
url = "{url}/link"
query = {{ per_page = "10" }}
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def config(tmp_path: Path, sample_api: SampleAPI) -> Path:
    return write_config(tmp_path, sample_api.url)


def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # COLUMNS=40: rich would wrap at 40 columns; piped output must not be wrapped at all.
    return subprocess.run(
        [str(SCRIPT), *args],
        cwd=cwd,
        env=environment(**{"COLUMNS": "40", "HOME": str(cwd), **env}),  # the default store in cwd
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr  # one line, however long: not wrapped, no traceback
    assert lines[0].startswith("mcp-paginate: error: ")
    return lines[0].removeprefix("mcp-paginate: error: ")


def test_unknown_source_suggests_the_closest_and_the_sources_command(config: Path) -> None:
    message = error_line(run(config.parent, "fetch", "ofset", "--config", str(config)))
    assert message == (
        "unknown source 'ofset'; did you mean 'offset'? configured sources: by_group, link, offset; "
        f"run `mcp-paginate sources --config {config}` to list them with their params"
    )


def test_a_missing_param_names_the_p_flag(config: Path) -> None:
    message = error_line(run(config.parent, "fetch", "by_group", "--config", str(config)))
    assert message == "source 'by_group' needs -p group=… (a group name, e.g. green)"


def test_an_unknown_param_suggests_the_p_flag_it_meant(config: Path) -> None:
    done = run(config.parent, "fetch", "by_group", "-p", "grop=green", "--config", str(config))
    assert error_line(done) == (
        "source 'by_group' has no param 'grop'; did you mean -p group=…? it takes: -p group=…"
    )


def test_a_malformed_cursor_names_the_cursor_flag(config: Path) -> None:
    done = run(config.parent, "fetch", "offset", "--cursor", "xyz", "--config", str(config))
    message = error_line(done)
    assert message.startswith("--cursor 'xyz' is not a cursor mcp-paginate printed")
    assert message.endswith(f"start again without --cursor: mcp-paginate fetch offset --config {config}")
    assert "source=" not in message and "list_page" not in message


def test_a_cursor_of_a_page_not_reached_names_the_cursor_flag(config: Path) -> None:
    first = run(config.parent, "fetch", "offset", "--max-records", "5", "--config", str(config))
    assert first.returncode == 0, first.stderr
    session = re.findall(r"--cursor ([\w-]+)\.", first.stderr)[-1]
    message = error_line(
        run(config.parent, "fetch", "offset", "--cursor", f"{session}.4", "--config", str(config))
    )
    assert "names a page its session has not reached; pass the last --cursor" in message


def test_empty_field_names_are_refused_naming_the_fields_flag(config: Path) -> None:
    done = run(config.parent, "fetch", "offset", "--fields", "id,,name", "--config", str(config))
    assert error_line(done) == (
        "--fields takes comma-separated dotted field names, e.g. id,name,owner.email; got 'id,,name'"
    )


def test_fetch_alloy_without_the_key_says_how_to_enable_it(tmp_path: Path) -> None:
    message = error_line(run(tmp_path, "fetch", "alloy", HOME=str(tmp_path)))
    assert message.startswith("unknown source 'alloy'; no sources are configured; ")
    for name in ("ALLOY_API_KEY", "ALLOY_USER_ID", "ALLOY_CREDENTIAL_ID"):
        assert name in message
    assert message.endswith("run `mcp-paginate sources` for how to add one")
    assert "list_sources" not in message


def test_fetch_alloy_with_the_key_but_no_ids_names_the_variable_not_its_value(tmp_path: Path) -> None:
    done = run(
        tmp_path, "fetch", "alloy", "-p", "connector=hubspot", "-p", "action=list",
        HOME=str(tmp_path), ALLOY_API_KEY=SECRET,
    )  # fmt: skip
    assert error_line(done) == (
        "source 'alloy' needs -p credential_id=… (Alloy credential id for the connected account), "
        "or set ALLOY_CREDENTIAL_ID in the environment"
    )


def test_sources_without_a_config_prints_the_next_steps(tmp_path: Path) -> None:
    done = run(tmp_path, "sources", HOME=str(tmp_path))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:3] == [
        "config: built-in defaults (no config file)",
        "no sources configured",
        "ad-hoc requests may reach: none (ad-hoc requests disabled)",
    ]
    alloy = next(line for line in lines if line.startswith("note: the built-in source 'alloy'"))
    assert "ALLOY_API_KEY" in alloy and "ALLOY_USER_ID" in alloy and "ALLOY_CREDENTIAL_ID" in alloy
    assert any(line.startswith("next: pass one with --config FILE") for line in lines)
    assert "  mcp-paginate sample-api --port 8080          # in another terminal" in lines
    assert "  mcp-paginate sources --config examples/config.toml --check" in lines
    assert all(len(line) > 40 for line in lines if line.startswith(("note:", "next:")))  # unwrapped


def test_sources_with_the_alloy_key_never_prints_it(tmp_path: Path) -> None:
    done = run(tmp_path, "sources", HOME=str(tmp_path), ALLOY_API_KEY=SECRET)
    assert done.returncode == 0, done.stderr
    assert re.search(r"│ alloy +│ alloy +│ 50 ", done.stdout)
    assert (
        "note: source 'alloy' has no default for ALLOY_USER_ID and ALLOY_CREDENTIAL_ID: export them, "
        "or pass -p user_id=… -p credential_id=… each run"
    ) in done.stdout
    assert SECRET not in done.stdout + done.stderr


def test_sources_with_a_config_and_every_alloy_variable_adds_no_notes(config: Path) -> None:
    done = run(
        config.parent, "sources", "--config", str(config),
        ALLOY_API_KEY=SECRET, ALLOY_USER_ID="u", ALLOY_CREDENTIAL_ID="c",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "note:" not in done.stdout and "next:" not in done.stdout
    assert SECRET not in done.stdout


def test_the_final_frame_is_a_tick_on_one_unwrapped_line(config: Path) -> None:
    done = run(config.parent, "fetch", "offset", "--out", "out.jsonl", "--config", str(config))
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 2, done.stderr  # the last frame, the summary: no empty or wrapped line
    assert re.fullmatch(r"✓ offset ━+ 237/237 records · 6 pages · [\d,]+ rec/s · \d:\d\d:\d\d", lines[0])
    assert lines[1].startswith("237 records in 6 pages to out.jsonl")


def test_the_bar_stopped_at_max_records_ends_on_a_tick(config: Path) -> None:
    done = run(config.parent, "fetch", "offset", "--max-records", "5", "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert re.match(r"✓ offset .* 5/237 records · 1 page ·", done.stderr), done.stderr


def test_ctrl_c_ends_the_bar_on_a_cross_and_exits_130(tmp_path: Path) -> None:
    with SampleAPI(latency=0.1) as api:  # 24 pages of 10, one at a time: ~2.4 s in all
        config = write_config(tmp_path, api.url)
        command = [str(SCRIPT), "fetch", "link", "--config", str(config)]
        command += ["--store", f"sqlite:///{tmp_path / 'state.db'}"]
        process = subprocess.Popen(
            command,
            cwd=tmp_path,
            env=environment(COLUMNS="40"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
        )
        try:
            assert process.stdout is not None
            ready, _, _ = select.select([process.stdout], [], [], TIMEOUT)
            assert ready, "no output from mcp-paginate fetch"
            first = process.stdout.readline()  # a page was written: the drain is under way
            process.send_signal(signal.SIGINT)
            rest, stderr_bytes = process.communicate(timeout=TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    stderr = stderr_bytes.decode()
    assert process.returncode == 130, stderr
    written = ids_in((first + rest).decode())
    assert 10 <= len(written) < len(ALL_IDS)
    lines = stderr.splitlines()
    assert re.fullmatch(
        rf"✗ link [━╸╺ ]+ {len(written):,} records · \d+ pages? · [\d,]+ rec/s · \d:\d\d:\d\d", lines[0]
    ), stderr
    assert lines[1] == f"interrupted after {len(written):,} records; resume with:"
    assert "Traceback" not in stderr


def test_help_lists_the_commands() -> None:
    done = subprocess.run(
        [str(SCRIPT), "--help"], env=environment(), capture_output=True, text=True, timeout=TIMEOUT
    )
    assert done.returncode == 0, done.stderr
    for command in ("serve", "demo", "fetch", "sources", "sample-api", "import"):
        assert command in done.stdout


@pytest.mark.anyio
async def test_the_tool_error_suggests_the_source_in_tool_terms(
    sample_api: SampleAPI, tmp_path: Path
) -> None:
    config = AppConfig.model_validate(
        {"sources": {"offset": {"url": f"{sample_api.url}/offset", "records": "items"}}},
        context={"environ": {}},
    )
    async with Client(create_server(config, "memory://", environ={})) as client:
        with anyio.fail_after(30):
            result = await client.call_tool("list_page", {"source": "ofset"})
    assert result.is_error
    text = " ".join(getattr(block, "text", "") for block in result.content)
    assert text.endswith(
        ": unknown source 'ofset'; did you mean 'offset'? available sources: offset (see list_sources)"
    )


def test_an_unset_variable_says_to_export_it(tmp_path: Path, sample_api: SampleAPI) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[sources.secured]
url = "{sample_api.url}/offset"
records = "items"
headers = {{ Authorization = "Bearer ${{PAGINATE_TEST_UNSET_TOKEN}}" }}
pagination = {{ mode = "offset", total = "total", page_size = 40 }}
""",
        encoding="utf-8",
    )
    message = error_line(run(tmp_path, "fetch", "secured", "--config", str(path)))
    assert message == (
        "source 'secured' needs the environment variable PAGINATE_TEST_UNSET_TOKEN, which is not set: "
        "export PAGINATE_TEST_UNSET_TOKEN=… in this shell and run the command again"
    )


@pytest.mark.parametrize("delay", [0.2, 0.35, 0.5])
def test_ctrl_c_while_the_command_starts_ends_quietly(tmp_path: Path, delay: float) -> None:
    # Sent while the server's dependencies load (about half a second here) or once the fetch is
    # under way (24 pages at 0.1 s each): either way one line on stderr and status 130.
    with SampleAPI(latency=0.1) as api:
        config = write_config(tmp_path, api.url)
        process = subprocess.Popen(
            [str(SCRIPT), "fetch", "link", "--config", str(config)],
            cwd=tmp_path,
            env=environment(HOME=str(tmp_path)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            time.sleep(delay)  # the point in the start-up to interrupt, not a synchronisation
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert "Traceback" not in stderr and "Error" not in stderr, stderr
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr


def test_ctrl_c_during_the_imports_is_caught_by_the_launcher() -> None:
    # The same, deterministically: a real SIGINT sent exactly while mcp_paginate.cli is imported.
    code = (
        "import builtins, os, signal, sys\n"
        "real = builtins.__import__\n"
        "def importing(name, *args, **kwargs):\n"
        "    if name == 'mcp_paginate.cli' or (name == 'mcp_paginate' and 'cli' in (args[2] or ())):\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "    return real(name, *args, **kwargs)\n"
        "builtins.__import__ = importing\n"
        "from mcp_paginate.launch import main\n"
        "sys.argv = ['mcp-paginate', 'sources']\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=environment(), capture_output=True, text=True, timeout=TIMEOUT
    )
    assert (done.returncode, done.stderr) == (130, "mcp-paginate: error: interrupted\n")
