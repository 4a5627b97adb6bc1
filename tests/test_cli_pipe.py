"""``mcp-paginate fetch … | head -2``: the reader closes the pipe early, and the command stops
quietly with exit status 0, as ``head`` and ``grep -m`` expect (it ended in a BrokenPipeError
traceback, exit 1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mcp_paginate.sample import SampleAPI


def test_fetch_into_a_pipe_closed_early_exits_0_without_a_traceback(tmp_path: Path) -> None:
    # 5,000 records (~450 KB of JSON Lines): far more than a pipe buffers, so the command is
    # still writing when the reader goes away.
    with SampleAPI(records=5000) as api:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[sources.s]\nurl = "{api.url}/offset"\nrecords = "items"\n\n'
            '[sources.s.pagination]\nmode = "offset"\ntotal = "total"\npage_size = 100\n',
            encoding="utf-8",
        )
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "MCP_PAGINATE_CONFIG": str(config)}
        process = subprocess.Popen(
            [sys.executable, "-m", "mcp_paginate", "fetch", "s"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=tmp_path,
        )
        assert process.stdout is not None and process.stderr is not None
        first = [process.stdout.readline() for _ in range(2)]
        process.stdout.close()  # what head does after its lines
        try:
            code = process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
        errors = process.stderr.read().decode()
        process.stderr.close()
    assert [line.startswith(b'{"id": ') for line in first] == [True, True]
    assert "Traceback" not in errors and "BrokenPipe" not in errors, errors
    assert code == 0, errors
