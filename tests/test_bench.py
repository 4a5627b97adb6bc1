"""tools/bench.py runs end to end (tiny sizes, no latency): every row drains the API exactly,
and the report names each target. No figure is asserted: timings belong to the benchmark."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "tools" / "bench.py"


def test_bench_runs_every_row_and_reports_the_targets() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--records", "200", "--latency", "0", "--repeat", "2"]
        + ["--overhead-samples", "5"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for row in ("fetch_all: cursor", "fetch_all: offset + total", "fetch_all: Alloy has_more, prefetch 4"):
        assert row in out
    for target in ("cursor ≤ 1.02×", "Alloy without prefetch", "list_page overhead", "peak RSS"):
        assert target in out
    assert "list_page round trip" in out and "direct GET p50" in out
    assert "list_sources (no request" in out
