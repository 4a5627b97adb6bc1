"""``mcp-paginate fetch`` end to end (the console script, a real sample API, JSON Lines out), and
``mcp-paginate sources --check``."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from rich.console import Console

from mcp_paginate.checks import check_sources
from mcp_paginate.config import AppConfig
from mcp_paginate.sample import FaultPlan, SampleAPI
from tests.support import ALL_IDS, ALLOY_ENV, sample_sources

SCRIPT = Path(sys.executable).with_name("mcp-paginate")
TIMEOUT = 60


def config_text(url: str, *, retries: int = 4) -> str:
    return f"""
[server]
retries = {retries}
backoff_base_seconds = 0

[sources.offset_total]
url = "{url}/offset"
records = "items"
max_page_size = 100
pagination = {{ mode = "offset", total = "total", page_size = 40 }}

[sources.link]
url = "{url}/link"
query = {{ per_page = "10" }}

[sources.broken]
url = "{url}/offset"
query = {{ limit = "not-a-number" }}
"""


@pytest.fixture
def workdir(tmp_path: Path, sample_api: SampleAPI) -> Path:
    (tmp_path / "config.toml").write_text(config_text(sample_api.url), encoding="utf-8")
    return tmp_path


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCP_PAGINATE_", "ALLOY_"))}
    env.update({"COLUMNS": "100", "NO_COLOR": "1"}, **extra)
    return env


def fetch(workdir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    command = [str(SCRIPT), "fetch", *args, "--config", str(workdir / "config.toml")]
    command += ["--store", f"sqlite:///{workdir / 'state.db'}"]
    return subprocess.run(
        command, cwd=workdir, env=environment(**env), capture_output=True, text=True, timeout=TIMEOUT
    )


def ids_in(text: str) -> list[int]:
    return [json.loads(line)["id"] for line in text.splitlines() if line.strip()]


def resume_cursor(stderr: str) -> str:
    found: list[str] = re.findall(r"--cursor (\S+)", stderr)
    assert found, stderr
    return found[-1]


def test_fetch_writes_every_record_once_as_json_lines(workdir: Path) -> None:
    done = fetch(workdir, "offset_total", "--out", "records.jsonl")
    assert done.returncode == 0, done.stderr
    assert ids_in((workdir / "records.jsonl").read_text(encoding="utf-8")) == ALL_IDS
    assert done.stdout == ""
    # The progress bar's final frame: spinner done, bar, records of the total, pages, rate, time.
    assert re.search(
        r"✓ offset_total ━+ 237/237 records · 6 pages · [\d,]+ rec/s · \d:\d\d:\d\d", done.stderr
    )
    assert "237 records in 6 pages to records.jsonl" in done.stderr


def test_fetch_to_stdout_in_auto_mode_without_a_total(workdir: Path) -> None:
    done = fetch(workdir, "link")
    assert done.returncode == 0, done.stderr
    assert ids_in(done.stdout) == ALL_IDS
    assert re.search(r"link ━+ 237/237 records · 24 pages", done.stderr)


def test_fetch_progress_bar_renders_on_a_terminal(workdir: Path) -> None:
    done = fetch(workdir, "offset_total", "--out", "records.jsonl", TTY_COMPATIBLE="1")
    assert done.returncode == 0, done.stderr
    assert "\x1b[?25l" in done.stderr  # rich's live display hides the cursor while it redraws
    assert re.search(r"237/237 records · 6 pages", done.stderr)


def test_fetch_fields_keeps_only_those(workdir: Path) -> None:
    done = fetch(workdir, "offset_total", "--fields", "id,email")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["id"] for r in records] == ALL_IDS
    assert all(set(r) == {"id", "email"} for r in records)


def test_fetch_max_records_stops_inside_a_page_and_the_cursor_continues_exactly(workdir: Path) -> None:
    first = fetch(workdir, "offset_total", "--max-records", "55", "--out", "part.jsonl")
    assert first.returncode == 0, first.stderr
    assert ids_in((workdir / "part.jsonl").read_text(encoding="utf-8")) == ALL_IDS[:55]
    assert "stopped at --max-records" in first.stderr
    cursor = resume_cursor(first.stderr)
    rest = fetch(workdir, "offset_total", "--cursor", cursor, "--out", "part.jsonl")
    assert rest.returncode == 0, rest.stderr
    assert ids_in((workdir / "part.jsonl").read_text(encoding="utf-8")) == ALL_IDS


def test_fetch_with_a_memory_store_offers_no_cursor_it_cannot_honour(workdir: Path) -> None:
    # Before, it printed a resume command whose cursor died with the process (the next run
    # said "unknown to this store" and exited 2).
    command = [str(SCRIPT), "fetch", "offset_total", "--max-records", "5"]
    command += ["--config", str(workdir / "config.toml"), "--store", "memory://"]
    done = subprocess.run(
        command, cwd=workdir, env=environment(), capture_output=True, text=True, timeout=TIMEOUT
    )
    assert done.returncode == 0, done.stderr
    assert ids_in(done.stdout) == ALL_IDS[:5]
    assert "--cursor" not in done.stderr
    assert "memory:// forgot the session" in done.stderr and "persistent store" in done.stderr


def test_fetch_overlaps_requests_as_fetch_all_does_and_stops_at_the_limit(tmp_path: Path) -> None:
    # The API reports a total, so after page 1 the CLI requests up to the source's concurrency
    # (default 4) at once, writes the pages in order, and asks for nothing past --max-records.
    with SampleAPI(latency=0.02) as api:
        (tmp_path / "config.toml").write_text(config_text(api.url), encoding="utf-8")
        done = fetch(tmp_path, "offset_total", "--out", "all.jsonl")
        assert done.returncode == 0, done.stderr
        assert ids_in((tmp_path / "all.jsonl").read_text(encoding="utf-8")) == ALL_IDS
        assert api.stats.requests == 6  # 237 records in pages of 40: not one request more
        assert 2 <= api.stats.max_in_flight <= 4

        api.stats.reset()
        part = fetch(tmp_path, "offset_total", "--max-records", "95", "--out", "part.jsonl")
        assert part.returncode == 0, part.stderr
        assert ids_in((tmp_path / "part.jsonl").read_text(encoding="utf-8")) == ALL_IDS[:95]
        assert api.stats.requests == 3  # the pages holding records 1-95, nothing past them


def test_fetch_resume_cursor_of_another_source_is_refused(workdir: Path) -> None:
    first = fetch(workdir, "offset_total", "--max-records", "5")
    cursor = resume_cursor(first.stderr)
    wrong = fetch(workdir, "link", "--cursor", cursor)
    assert wrong.returncode == 2
    assert wrong.stdout == ""
    assert "continues source 'offset_total', not 'link'" in wrong.stderr


def test_fetch_unknown_source_is_one_clear_line(workdir: Path) -> None:
    done = fetch(workdir, "nope")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "mcp-paginate: error: unknown source 'nope'; configured sources: broken, link, offset_total; "
        f"run `mcp-paginate sources --config {workdir / 'config.toml'}` to list them with their params"
    ]


def test_fetch_upstream_error_on_the_first_page(workdir: Path) -> None:
    done = fetch(workdir, "broken")
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.startswith("mcp-paginate: error:")]
    assert len(lines) == 1 and "upstream answered 400" in lines[0] and "before any record" in lines[0]
    assert "Traceback" not in done.stderr


@pytest.fixture
def failing_api(tmp_path: Path) -> Iterator[SampleAPI]:
    with SampleAPI() as api:
        (tmp_path / "config.toml").write_text(config_text(api.url, retries=0), encoding="utf-8")
        yield api


def test_fetch_error_mid_drain_keeps_what_it_wrote_and_resumes(
    tmp_path: Path, failing_api: SampleAPI
) -> None:
    # offset_total's API reports a total, so pages are requested 4 at a time: which page the
    # third request was for depends on the order they reached the API. Whichever it was, the
    # output holds exactly the records before it.
    failing_api.faults = FaultPlan(status_every=3, status_code=503)
    failed = fetch(tmp_path, "offset_total", "--out", "records.jsonl")
    assert failed.returncode == 1
    stopped = re.search(r"stopped after ([\d,]+) records", failed.stderr)
    assert stopped is not None and "upstream answered 503" in failed.stderr, failed.stderr
    written = int(stopped.group(1).replace(",", ""))
    assert re.search(rf"^✗ offset_total [━╸╺ ]+ {written}/237 records", failed.stderr, re.MULTILINE), (
        failed.stderr
    )
    assert written in {40, 80, 120, 160}  # pages of 40; page 0 was the first request, and answered
    assert ids_in((tmp_path / "records.jsonl").read_text(encoding="utf-8")) == ALL_IDS[:written]
    failing_api.faults = FaultPlan()
    resumed = fetch(
        tmp_path, "offset_total", "--out", "records.jsonl", "--cursor", resume_cursor(failed.stderr)
    )
    assert resumed.returncode == 0, resumed.stderr
    assert ids_in((tmp_path / "records.jsonl").read_text(encoding="utf-8")) == ALL_IDS


def test_ctrl_c_prints_a_cursor_that_resumes_without_gaps_or_repeats(tmp_path: Path) -> None:
    with SampleAPI(latency=0.05) as api:
        (tmp_path / "config.toml").write_text(config_text(api.url), encoding="utf-8")
        command = [str(SCRIPT), "fetch", "link", "--config", str(tmp_path / "config.toml")]
        command += ["--store", f"sqlite:///{tmp_path / 'state.db'}"]
        # Unbuffered bytes: readline takes one line and leaves the rest to communicate().
        process = subprocess.Popen(
            command,
            cwd=tmp_path,
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
        )
        try:
            assert process.stdout is not None
            ready, _, _ = select.select([process.stdout], [], [], TIMEOUT)
            assert ready, "no output from mcp-paginate fetch"
            first_line = process.stdout.readline()
            process.send_signal(signal.SIGINT)
            rest_bytes, stderr_bytes = process.communicate(timeout=TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        rest, stderr = (first_line + rest_bytes).decode(), stderr_bytes.decode()
        assert process.returncode == 130, stderr
        assert "interrupted after" in stderr and "resume with:" in stderr
        assert "Traceback" not in stderr
        written = ids_in(rest)
        assert 10 <= len(written) < len(ALL_IDS)
        assert written == ALL_IDS[: len(written)]
        resumed = subprocess.run(
            command + ["--cursor", resume_cursor(stderr)],
            cwd=tmp_path,
            env=environment(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert resumed.returncode == 0, resumed.stderr
        assert written + ids_in(resumed.stdout) == ALL_IDS


# -- mcp-paginate sources --check ----------------------------------------------------------------


@pytest.mark.anyio
async def test_check_sources_fetches_one_page_of_each_and_reports(sample_api: SampleAPI) -> None:
    sources = sample_sources(sample_api.url)
    sources["needs_params"] = {"url": sample_api.url + "/offset?x={thing}", "params": {"thing": "A thing"}}
    sources["needs_env"] = {
        "url": sample_api.url + "/offset",
        "headers": {"Authorization": "Bearer ${UNSET_TOKEN_X}"},
    }
    config = AppConfig.model_validate({"sources": sources}, context={"environ": ALLOY_ENV})
    console = Console(record=True, width=300, color_system=None)
    with anyio.fail_after(60):
        ok = await check_sources(config, console, environ=ALLOY_ENV)
    assert ok is True
    output = console.export_text()
    lines = {line.split()[1]: line for line in output.splitlines() if line[:1] in "✓-✗"}
    assert lines["offset_total"].startswith("✓ offset_total")
    assert (
        "offset (declared) · 40 records of 237 · more available · keys: id, name, email, group, score"
        in (lines["offset_total"])
    )
    assert 'auto → cursor {"next":{"link":"next"},"cursor_param":{"in":"url"}}' in lines["auto_link"]
    assert "alloy (declared) · 50 records · more available" in lines["alloy_style"]
    assert (
        lines["needs_params"].startswith("- needs_params")
        and "skipped: needs params thing" in lines["needs_params"]
    )
    assert "skipped: environment variables not set: UNSET_TOKEN_X" in lines["needs_env"]
    assert "12 ok, 0 failed, 2 skipped" in output
    assert ALLOY_ENV["ALLOY_API_KEY"] not in output


def test_sources_check_exits_non_zero_when_a_source_fails(workdir: Path) -> None:
    command = [str(SCRIPT), "sources", "--check", "--config", str(workdir / "config.toml")]
    done = subprocess.run(command, env=environment(), capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 1
    assert re.search(r"✗ broken +upstream answered 400 for \S+/offset: limit must be an integer", done.stdout)
    assert re.search(r"✓ offset_total +offset \(declared\) · 40 records of 237", done.stdout)
    assert "2 ok, 1 failed, 0 skipped" in done.stdout


def test_a_cursor_that_starts_with_a_dash_is_read_as_the_cursor(workdir: Path) -> None:
    # Ids minted now start with a letter or digit; one minted earlier may start with "-", and
    # "--cursor -abc.0" must still reach the store, not read as another option.
    done = fetch(workdir, "offset_total", "--cursor", "-AbCdEfGhIjKlMnOpQrStUvW.1")
    assert done.returncode == 2
    assert "expected one argument" not in done.stderr
    assert "that cursor is unknown to this store" in done.stderr


def test_new_ids_never_start_with_a_dash() -> None:
    from mcp_paginate.sessions import new_id

    # With a plain token_urlsafe, one id in 32 starts with "-" or "_" (5,000 ids: all but certain).
    firsts = {new_id()[0] for _ in range(5000)}
    assert all(first.isalnum() for first in firsts)
